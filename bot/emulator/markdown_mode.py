"""The MarkdownV2 and legacy Markdown parse modes, after Telegram's parsers.

MarkdownV2 insists that every one of `_*[]()~`>#+-=|{}.!` outside an entity is
escaped with a backslash; that is the mistake bots make most, so its error text
is reproduced exactly. Blockquotes (`>` at the start of a line) are recognised
for whole lines only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .text import (
    Entity,
    EntityParseError,
    FormattedText,
    drop_nested_in_code,
    sort_entities,
    utf16_len,
    valid_url,
)

_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_V2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass(slots=True)
class _Open:
    type: str
    start: int
    byte_offset: int
    chunk_index: int
    language: str | None = None


class _Output:
    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.pos = 0

    def emit(self, text: str) -> None:
        self.chunks.append(text)
        self.pos += utf16_len(text)

    def text_since(self, chunk_index: int) -> str:
        return "".join(self.chunks[chunk_index:])

    def result(self, entities: list[Entity]) -> FormattedText:
        return FormattedText("".join(self.chunks), drop_nested_in_code(sort_entities(entities)))


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8", "surrogatepass"))


def _escapable(src: str, i: int) -> bool:
    return i + 1 < len(src) and 0 < ord(src[i + 1]) <= 126


def _pre_start(src: str, i: int) -> tuple[int, str | None]:
    """Skip past ``` plus an optional language and one leading newline."""
    size = len(src)
    end = i
    while end < size and not src[end].isspace() and src[end] != "`":
        end += 1
    language = None
    if end != i and end < size and src[end] != "`":
        language = src[i:end]
        i = end
    if i < size and src[i] in "\r\n":
        pair = i + 1 < size and src[i + 1] in "\r\n" and src[i] != src[i + 1]
        i += 2 if pair else 1
    return i, language


def parse_markdown_v2(src: str) -> FormattedText:
    out = _Output()
    entities: list[Entity] = []
    stack: list[_Open] = []
    quote_start: int | None = None
    size = len(src)
    i = 0
    while i < size:
        c = src[i]
        at_line_start = i == 0 or src[i - 1] == "\n"
        if at_line_start and not stack:
            if c == ">":
                if quote_start is None:
                    quote_start = out.pos
                i += 1
                continue
            if quote_start is not None:
                _close_quote(entities, quote_start, out.pos)
                quote_start = None
        if c == "\\" and _escapable(src, i):
            out.emit(src[i + 1])
            i += 2
            continue
        top = stack[-1].type if stack else None
        reserved = "`" if top in ("code", "pre") else _V2_RESERVED
        if c not in reserved:
            out.emit(c)
            i += 1
            continue
        if top is not None and _ends(top, src, i):
            i = _finish_v2(src, i, stack.pop(), out, entities)
            continue
        i = _begin_v2(src, i, stack, out)
    if stack:
        opened = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_V2_NAMES[opened.type]} entity at byte offset {opened.byte_offset}"
        )
    if quote_start is not None:
        _close_quote(entities, quote_start, out.pos)
    return out.result(entities)


def _close_quote(entities: list[Entity], start: int, end: int) -> None:
    if end > start:
        entities.append(Entity(start, end - start, "blockquote"))


def _ends(kind: str, src: str, i: int) -> bool:
    c = src[i]
    following = src[i + 1 : i + 3]
    if kind == "bold":
        return c == "*"
    if kind == "italic":
        return c == "_" and not following.startswith("_")
    if kind == "underline":
        return c == "_" and following.startswith("_")
    if kind == "strikethrough":
        return c == "~"
    if kind == "spoiler":
        return c == "|" and following.startswith("|")
    if kind == "code":
        return c == "`"
    if kind == "pre":
        return c == "`" and following == "``"
    return c == "]"


def _begin_v2(src: str, i: int, stack: list[_Open], out: _Output) -> int:
    c = src[i]
    byte_offset = _byte_offset(src, i)
    language = None
    if c == "_":
        kind = "underline" if src.startswith("_", i + 1) else "italic"
        i += 2 if kind == "underline" else 1
    elif c == "*":
        kind, i = "bold", i + 1
    elif c == "~":
        kind, i = "strikethrough", i + 1
    elif c == "|" and src.startswith("|", i + 1):
        kind, i = "spoiler", i + 2
    elif c == "[":
        kind, i = "text_link", i + 1
    elif c == "!" and src.startswith("[", i + 1):
        kind, i = "custom_emoji", i + 2
    elif c == "`" and src.startswith("``", i + 1):
        kind = "pre"
        i, language = _pre_start(src, i + 3)
    elif c == "`":
        kind, i = "code", i + 1
    else:
        raise EntityParseError(
            f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
        )
    stack.append(_Open(kind, out.pos, byte_offset, len(out.chunks), language))
    return i


def _finish_v2(src: str, i: int, opened: _Open, out: _Output, entities: list[Entity]) -> int:
    kind = opened.type
    length = out.pos - opened.start
    extra: dict[str, str | None] = {}
    if kind in ("underline", "spoiler"):
        i += 2
    elif kind == "pre":
        i += 3
        extra["language"] = opened.language
    elif kind in ("text_link", "custom_emoji"):
        url, i = _link_target(src, i + 1, out.text_since(opened.chunk_index), kind)
        if kind == "custom_emoji":
            extra["custom_emoji_id"] = url.removeprefix("tg://emoji?id=")
        else:
            valid = valid_url(url)
            if valid is None:
                return i
            extra["url"] = valid
    else:
        i += 1
    if length > 0:
        entities.append(Entity(opened.start, length, kind, **extra))
    return i


def _link_target(src: str, i: int, label: str, kind: str) -> tuple[str, int]:
    """The `(url)` after `]`; a bare `[text]` links to its own text."""
    if not src.startswith("(", i):
        if kind == "custom_emoji":
            raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
        return label, i
    url_start = i + 1
    i = url_start
    parts: list[str] = []
    while i < len(src) and src[i] != ")":
        if src[i] == "\\" and _escapable(src, i):
            parts.append(src[i + 1])
            i += 2
            continue
        parts.append(src[i])
        i += 1
    if i >= len(src):
        raise EntityParseError(
            f"Can't find end of a URL at byte offset {_byte_offset(src, url_start)}"
        )
    return "".join(parts), i + 1


_V1_KINDS = {"_": "italic", "*": "bold", "`": "code", "[": "text_link"}


def parse_markdown(src: str) -> FormattedText:
    """The legacy Markdown mode: `*bold*`, `_italic_`, `` `code` ``, ```pre```, [text](url)."""
    out = _Output()
    entities: list[Entity] = []
    size = len(src)
    i = 0
    while i < size:
        c = src[i]
        if c == "\\" and src[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.emit(src[i + 1])
            i += 2
            continue
        if c not in _V1_KINDS:
            out.emit(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        i += 1
        is_pre = c == "`" and src.startswith("``", i)
        language = None
        if is_pre:
            i, language = _pre_start(src, i + 2)
        start = out.pos
        body_start = i
        while i < size and (src[i] != end_char or (is_pre and not src.startswith("``", i + 1))):
            i += 1
        if i >= size:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(src, begin)}"
            )
        body = src[body_start:i]
        out.emit(body)
        if c == "[":
            url = body
            if src.startswith("(", i + 1):
                close = src.find(")", i + 2)
                close = size - 1 if close < 0 else close
                url = src[i + 2 : close]
                i = close
            valid = valid_url(url)
            if body and valid is not None:
                entities.append(Entity(start, out.pos - start, "text_link", url=valid))
        elif body:
            kind = "pre" if is_pre else _V1_KINDS[c]
            entities.append(Entity(start, out.pos - start, kind, language=language))
        i += 3 if is_pre else 1
    return out.result(entities)
