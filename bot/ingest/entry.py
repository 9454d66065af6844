"""What every source (feed or listing file) is turned into before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import SourceError
from bot.store.articles import FullContent, Image

__all__ = ["Alternate", "Entry", "FullContent", "Image", "ParsedFeed", "SourceError"]


@dataclass(frozen=True)
class Alternate:
    """Where a source says the article's translation is: an address (a feed's
    `hreflang` alternate link, a listing's `Translation: <URL>`) or an identifier
    within the same source (a listing's `Translation: ID:<id>`). Which of these
    become claims is decided once the article's language is known
    (bot.ingest.pipeline.prepare)."""

    url: str | None = None
    guid: str | None = None
    language: str | None = None
    """The language the source says the translation is in (`hreflang`); None: not said."""


@dataclass(frozen=True)
class Entry:
    """One article as a source describes it: plain text, UTC timestamps."""

    title: str
    summary: str = ""
    url: str | None = None
    guid: str | None = None
    published_at: int | None = None  # Unix seconds, UTC; None when the source gives no date
    language: str | None = None  # declared by the source ('en', 'es'); None: detect
    categories: tuple[str, ...] = ()
    image: Image | None = None  # the lead image, already checked (bot.ingest.images)
    content: FullContent | None = None
    """The whole article, sanitised (bot.ingest.content); None when the source
    carries nothing more than the summary."""
    alternates: tuple[Alternate, ...] = ()
    """What the source says the article's translation is (at most a few)."""


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    language: str | None
    entries: list[Entry] = field(default_factory=list)
