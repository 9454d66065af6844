"""The bilingual topic catalogue and the tagging of articles with it.

Keywords are compared as stems in their own language, on the same word
sequences the search index holds, so tagging and search agree on what
"migrant" means.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.errors import SourceError
from bot.text import IndexedText, fold, stem_english, stem_spanish, words


@dataclass(frozen=True)
class Topic:
    slug: str
    name_en: str
    name_es: str
    keywords_en: tuple[str, ...] = ()
    keywords_es: tuple[str, ...] = ()

    def name(self, language: str) -> str:
        return self.name_es if language == "es" else self.name_en


@dataclass(frozen=True)
class _Stems:
    """A catalogue's keywords as stems, for tagging and for naming categories."""

    single_english: dict[str, set[str]]  # one-word keywords: a set lookup
    single_spanish: dict[str, set[str]]
    english: list[tuple[str, tuple[str, ...]]]  # phrases: a scan
    spanish: list[tuple[str, tuple[str, ...]]]
    # A feed's category names a topic when it is one of its keywords as a
    # reader writes it ("Refugees", "Migrantes"): compared as stems.
    stemmed: dict[tuple[str, ...], str]


class Catalogue:
    """The topics in catalogue order, with their keywords stemmed once, on the first
    text tagged or category named: the stemmers are a library a bot that has not
    ingested anything yet does not load (`bot.text`)."""

    def __init__(self, topics: tuple[Topic, ...]):
        self.topics = topics
        self._aliases: dict[str, str] = {}
        for topic in topics:
            for alias in (topic.slug, topic.name_en, topic.name_es):
                self._aliases[_alias_key(alias)] = topic.slug
        self._keywords: dict[str, str] = {}
        for topic in topics:
            for keyword in topic.keywords_en + topic.keywords_es:
                self._keywords.setdefault(_alias_key(keyword), topic.slug)

    @functools.cached_property
    def _stems(self) -> _Stems:
        english: list[tuple[str, tuple[str, ...]]] = []
        spanish: list[tuple[str, tuple[str, ...]]] = []
        for topic in self.topics:
            for keyword in topic.keywords_en:
                english.append((topic.slug, tuple(stem_english(words(keyword)))))
            for keyword in topic.keywords_es:
                spanish.append((topic.slug, tuple(stem_spanish(words(keyword)))))
        stemmed: dict[tuple[str, ...], str] = {}
        for slug, stems in english:
            stemmed.setdefault(("en", *stems), slug)
        for slug, stems in spanish:
            stemmed.setdefault(("es", *stems), slug)
        return _Stems(
            single_english=_by_stem(english),
            single_spanish=_by_stem(spanish),
            english=[(slug, stems) for slug, stems in english if len(stems) > 1],
            spanish=[(slug, stems) for slug, stems in spanish if len(stems) > 1],
            stemmed=stemmed,
        )

    def get(self, slug: str) -> Topic | None:
        return next((topic for topic in self.topics if topic.slug == slug), None)

    def resolve(self, name: str, *, keywords: bool = True) -> Topic | None:
        """A topic by slug or by either language's name (or, with `keywords`, one of
        its keywords), accent- and case-insensitive."""
        key = _alias_key(name)
        slug = self._aliases.get(key) or (self._keywords.get(key) if keywords else None)
        return None if slug is None else self.get(slug)

    def tag(self, text: IndexedText, categories: tuple[str, ...] = ()) -> list[str]:
        """The slugs of the topics whose keywords occur in the text or its categories."""
        found: set[str] = set()
        stems_ = self._stems
        for words_, single, phrases in (
            (text.english, stems_.single_english, stems_.english),
            (text.spanish, stems_.single_spanish, stems_.spanish),
        ):
            present = set(words_)
            for stem in single.keys() & present:
                found.update(single[stem])
            for slug, stems in phrases:
                if slug in found or not all(stem in present for stem in stems):
                    continue
                if _contains(words_, stems):
                    found.add(slug)
        for category in categories:
            named = self.category_topic(category)
            if named is not None:
                found.add(named)
        return [topic.slug for topic in self.topics if topic.slug in found]

    def category_topic(self, category: str) -> str | None:
        """The topic a feed's category names: a topic's slug or name, or one of
        its keywords, accents, case and inflection aside ("Refugees" and
        "Migrantes" are migration). A category that only contains a keyword
        ("Border collies") names none: feeds file under broad labels, and a
        word inside one says less than the article's own text."""
        topic = self.resolve(category)
        if topic is not None:
            return topic.slug
        folded = words(category)
        if not folded:
            return None
        stemmed = self._stems.stemmed
        return stemmed.get(("en", *stem_english(folded))) or stemmed.get(
            ("es", *stem_spanish(folded))
        )


def _by_stem(keywords: list[tuple[str, tuple[str, ...]]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for slug, stems in keywords:
        if len(stems) == 1:
            found.setdefault(stems[0], set()).add(slug)
    return found


def _alias_key(text: str) -> str:
    return " ".join(words(fold(text)))


def _contains(sequence: list[str], phrase: tuple[str, ...]) -> bool:
    if len(phrase) == 1:
        return phrase[0] in sequence
    width = len(phrase)
    return any(
        tuple(sequence[i : i + width]) == phrase
        for i in range(len(sequence) - width + 1)
        if sequence[i] == phrase[0]
    )


def load_catalogue(path: Path) -> Catalogue:
    """Read `topics.toml`; a broken file is a SourceError naming the problem."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise SourceError(f"cannot read topic catalogue {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"topic catalogue {path} is not valid TOML: {exc}") from exc
    topics = []
    for index, raw in enumerate(data.get("topic", []), start=1):
        try:
            topics.append(
                Topic(
                    slug=str(raw["slug"]),
                    name_en=str(raw["en"]),
                    name_es=str(raw["es"]),
                    keywords_en=tuple(str(k) for k in raw.get("keywords_en", [])),
                    keywords_es=tuple(str(k) for k in raw.get("keywords_es", [])),
                )
            )
        except KeyError as exc:
            raise SourceError(f"topic #{index} in {path} lacks {exc.args[0]!r}") from exc
    return Catalogue(tuple(topics))
