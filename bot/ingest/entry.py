"""What every source (feed or listing file) is turned into before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import SourceError

__all__ = ["Entry", "ParsedFeed", "SourceError"]


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


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    language: str | None
    entries: list[Entry] = field(default_factory=list)
