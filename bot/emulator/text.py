"""Formatted text: plain text plus entities measured in UTF-16 code units.

Telegram measures entity offsets and lengths, and the 4096-character message
limit, in UTF-16 code units (an emoji outside the BMP counts as two), so every
length here is measured that way too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)


_WHITESPACE = re.compile(r"\s")
_URL_SCHEMES = frozenset({"http", "https", "tg", "ton", "ftp"})


class EntityParseError(ValueError):
    """Markup that Telegram refuses with "can't parse entities: <detail>"."""


def utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_slice(text: str, start: int, end: int) -> str:
    """`text[start:end]` where both bounds are UTF-16 offsets."""
    if text.isascii():
        return text[start:end]
    data = text.encode("utf-16-le", "surrogatepass")
    return data[start * 2 : end * 2].decode("utf-16-le", "replace")


class Entity(NamedTuple):
    """A MessageEntity; a named tuple because parsing creates many of them."""

    offset: int
    length: int
    type: str
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.url is not None:
            data["url"] = self.url
        if self.language is not None:
            data["language"] = self.language
        if self.custom_emoji_id is not None:
            data["custom_emoji_id"] = self.custom_emoji_id
        return data


@dataclass(frozen=True, slots=True)
class FormattedText:
    text: str
    entities: tuple[Entity, ...] = ()

    def entities_api(self) -> list[dict[str, Any]]:
        return [entity.to_api() for entity in self.entities]


def sort_entities(entities: list[Entity]) -> tuple[Entity, ...]:
    """Outer entities before the ones nested in them, like Telegram returns them."""
    return tuple(sorted(entities, key=lambda e: (e.offset, -e.length, e.type)))


def trim(formatted: FormattedText) -> FormattedText:
    """Strip surrounding whitespace the way Telegram does, keeping entities aligned."""
    text = formatted.text
    stripped = text.strip()
    if stripped == text:
        return formatted
    if not stripped:
        return FormattedText("")
    head = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept: list[Entity] = []
    for entity in formatted.entities:
        start = max(entity.offset - head, 0)
        end = min(entity.end - head, size)
        if end > start:
            kept.append(entity._replace(offset=start, length=end - start))
    return FormattedText(stripped, tuple(kept))


def drop_nested_in_code(entities: tuple[Entity, ...]) -> tuple[Entity, ...]:
    """Nothing can be formatted inside code or pre; Telegram silently drops such entities."""
    if not any(e.type in ("code", "pre") for e in entities):
        return entities
    kept: list[Entity] = []
    code_end = -1
    for entity in entities:
        if entity.offset < code_end:
            continue
        kept.append(entity)
        if entity.type in ("code", "pre"):
            code_end = entity.end
    return tuple(kept)


_BLOCKQUOTES = frozenset({"blockquote", "expandable_blockquote"})


def drop_nested_blockquotes(entities: tuple[Entity, ...]) -> tuple[Entity, ...]:
    """Blockquotes can't be nested or overlap: like Telegram, keep the outer one and
    silently drop any blockquote starting inside it (`entities` sorted outer first)."""
    if sum(1 for e in entities if e.type in _BLOCKQUOTES) < 2:
        return entities
    kept: list[Entity] = []
    quote_end = -1
    for entity in entities:
        if entity.type in _BLOCKQUOTES:
            if entity.offset < quote_end:
                continue
            quote_end = entity.end
        kept.append(entity)
    return tuple(kept)


def valid_url(url: str) -> str | None:
    """The link Telegram would keep for an `a href`; `None` drops the link silently."""
    url = url.strip()
    if not url or _WHITESPACE.search(url):
        return None
    parts = urlsplit(url if ":" in url.split("/", 1)[0] else f"http://{url}")
    scheme = parts.scheme.lower()
    if scheme not in _URL_SCHEMES:
        return None
    if scheme in ("http", "https", "ftp") and not parts.hostname:
        return None
    return parts.geturl()
