"""What a /subscribe or /unsubscribe text means, by the rules /search applies.

A subscription follows what the same words would find with /search, so it is
parsed by the same parser and refused for the same reasons (an exclusion alone,
a short prefix, an unknown topic or language …): `-video` is not a way to
follow Video. What is followed is stored in one form: a topic by its slug, a
search by `query.normal_form`, with its topics by slug, so every spelling of
one search is one subscription and any of them finds it again.
"""

from __future__ import annotations

import dataclasses

from bot.search.query import (
    ParsedQuery,
    QueryError,
    QueryProblem,
    normal_form,
    parse_query,
    parse_subscription,
)
from bot.store.subscriptions import SubscriptionKind
from bot.text import fold
from bot.topics import Catalogue

Followed = tuple[SubscriptionKind, str]

ALL = frozenset({"all", "todo", "todos", "todas"})
"""What `/unsubscribe` takes to mean every subscription (in both languages)."""


def means_all(text: str) -> bool:
    return fold(text.strip()) in ALL


def to_follow(catalogue: Catalogue, text: str) -> Followed:
    """A topic when the text names one, plainly or as `topic:<slug or name>` and
    nothing else, else the search in its normal form.

    A search made of one `topic:` alone finds what the topic holds: following it
    as keywords would list it apart from the topic and never meet the topic's
    own toggle, so it is the topic. Raises QueryError for whatever /search would
    refuse (an unknown topic among them)."""
    query = parse_subscription(text)
    topic = catalogue.resolve(text, keywords=False)
    if topic is not None:
        return "topic", topic.slug
    slugs = []
    for name in query.topics:
        found = catalogue.resolve(name)
        if found is None:
            raise QueryError(QueryProblem.UNKNOWN_TOPIC, topic=name)
        slugs.append(found.slug)
    if len(set(slugs)) == 1 and not query.terms and not query.excluded and query.language is None:
        return "topic", slugs[0]
    return "query", _checked(dataclasses.replace(query, topics=tuple(slugs)))


def to_stop_following(catalogue: Catalogue, text: str) -> Followed:
    """What /unsubscribe means: as `to_follow`, but a text it refuses is looked
    for as written (a subscription stored before a rule may still be one)."""
    try:
        return to_follow(catalogue, text)
    except QueryError:
        return "query", text


def normal_query(catalogue: Catalogue, text: str) -> str:
    """A stored keyword subscription in its normal form; the text itself when
    /search would not take it (a rule it breaks, a topic since removed), so
    nothing is changed that cannot be changed to the same meaning."""
    try:
        query = parse_subscription(text)
    except QueryError:
        return text
    slugs = []
    for name in query.topics:
        found = catalogue.resolve(name)
        if found is None:
            return text
        slugs.append(found.slug)
    try:
        return _checked(dataclasses.replace(query, topics=tuple(slugs)))
    except QueryError:
        return text


def _checked(query: ParsedQuery) -> str:
    """The normal form, once it is known to parse back within the rules (folding
    can lengthen a text past MAX_QUERY_CHARS)."""
    text = normal_form(query)
    parse_query(text)
    return text
