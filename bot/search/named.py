"""The topics a search names: by a topic's name or by one of its keywords.

Articles are tagged with a topic when they contain any of its keywords, in
either language, so a reader who types one keyword ("mujeres") may find no
article containing that word while the topic it belongs to ("Derechos de las
mujeres") holds several. Search then points to the topic.

A query names a topic when its words, function words aside and in any order,
stem to the same words as the topic's name or one of its keywords, by either
language's stemmer: "mujer", "mujeres" and "derechos mujeres" all name it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from bot.search.query import STOPWORDS, ParsedQuery
from bot.text import stem_english, stem_spanish, words
from bot.topics import Catalogue

MAX_NAMED = 3  # a query naming more is too general to point anywhere

Key = tuple[str, ...]


def topics_named(query: ParsedQuery, catalogue: Catalogue) -> tuple[str, ...]:
    """The slugs of the topics the query's words name, in catalogue order.

    None when the query already picks topics (`topic:`), or when a word is a
    prefix (`mujer*` is still being typed, and names nothing yet)."""
    if query.topics or not query.terms or any(term.prefix for term in query.terms):
        return ()
    folded = [word for term in query.terms for word in term.words]
    index = _index(catalogue)
    found: set[str] = set()
    for key in _keys(folded):
        found.update(index.get(key, ()))
    named = tuple(topic.slug for topic in catalogue.topics if topic.slug in found)
    return named if len(named) <= MAX_NAMED else ()


@lru_cache(maxsize=4)
def _index(catalogue: Catalogue) -> dict[Key, frozenset[str]]:
    """Stemmed name or keyword → slugs; built once per catalogue (a few hundred
    entries), so a search costs two dictionary lookups."""
    index: dict[Key, set[str]] = {}
    for topic in catalogue.topics:
        names = (topic.slug.replace("-", " "), topic.name_en, topic.name_es)
        for text in (*names, *topic.keywords_en, *topic.keywords_es):
            for key in _keys(words(text)):
                index.setdefault(key, set()).add(topic.slug)
    return {key: frozenset(slugs) for key, slugs in index.items()}


def _keys(folded: Iterable[str]) -> set[Key]:
    """A word sequence as both stemmers see it, function words dropped (unless
    nothing else is left), order ignored."""
    every = list(folded)
    content = [word for word in every if word not in STOPWORDS] or every
    if not content:
        return set()
    return {tuple(sorted(stem(content))) for stem in (stem_english, stem_spanish)}
