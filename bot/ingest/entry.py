"""What every source (feed or listing file) is turned into before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import SourceError
from bot.store.articles import FullContent, Image

__all__ = ["Entry", "FullContent", "Image", "ParsedFeed", "SourceError"]


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


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    language: str | None
    entries: list[Entry] = field(default_factory=list)
