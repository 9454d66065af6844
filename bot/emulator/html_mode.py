"""The HTML parse mode, following Telegram's own parser rule for rule.

Accepted: b/strong, i/em, u/ins, s/strike/del, tg-spoiler, span class="tg-spoiler",
a href, code, pre (optionally holding code class="language-x"), blockquote
(optionally `expandable`) and tg-emoji emoji-id. A blockquote inside another
one is accepted but dropped, as Telegram drops it. Tags must nest and close;
a bare `<` starts a tag, so it must be written `&lt;`. `&lt; &gt; &amp; &quot;`
and numeric references are decoded (the `;` is optional); any other `&` stays
literal. Error texts, including their UTF-8 byte offsets, match Telegram's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import (
    Entity,
    EntityParseError,
    FormattedText,
    drop_nested_blockquotes,
    drop_nested_in_code,
    sort_entities,
    utf16_len,
    utf16_slice,
    valid_url,
)

_SPECIAL = re.compile(r"[<&]")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_NAMED_ENTITY = re.compile(r"[A-Za-z]*")
_SPACES = frozenset(" \t\r\n\v\f")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_FAST_NAMED = tuple((f"{name};", char) for name, char in _NAMED.items())

_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_TAGS = frozenset({*_SIMPLE_TYPES, "a", "code", "pre", "blockquote", "tg-emoji"})


def decode_entity(text: str, start: int) -> tuple[str, int]:
    """The character a `&...` reference at `start` stands for, and where it ends.

    An unsupported reference yields a literal `&`, as in Telegram.
    """
    pos = start + 1
    for name, char in _FAST_NAMED:
        if text.startswith(name, pos):
            return char, pos + len(name)
    if text.startswith("#", pos):
        pos += 1
        hexadecimal = text.startswith("x", pos)
        if hexadecimal:
            pos += 1
        digits_start = pos
        allowed = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while pos < len(text) and text[pos] in allowed and pos - digits_start < 8:
            pos += 1
        digits = text[digits_start:pos]
        code = int(digits, 16 if hexadecimal else 10) if digits else 0
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF or pos - start >= 10:
            return "&", start + 1
        char = chr(code)
    else:
        match = _NAMED_ENTITY.match(text, pos)
        assert match is not None
        char_or_none = _NAMED.get(match.group())
        if char_or_none is None:
            return "&", start + 1
        char = char_or_none
        pos = match.end()
    if text.startswith(";", pos):
        pos += 1
    return char, pos


def parse_html(source: str) -> FormattedText:
    """Plain text and entities for `source`; raises `EntityParseError` like Telegram."""
    return _HtmlParser(source).run()


@dataclass(slots=True)
class _Open:
    tag: str
    argument: str
    start: int


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.size = len(source)
        self.index = 0
        self.chunks: list[str] = []
        self.pos = 0
        self.stack: list[_Open] = []
        self.entities: list[Entity] = []
        self.code_languages: dict[int, str] = {}

    def run(self) -> FormattedText:
        src = self.src
        while self.index < self.size:
            match = _SPECIAL.search(src, self.index)
            if match is None:
                self.emit(src[self.index :])
                break
            at = match.start()
            if at > self.index:
                self.emit(src[self.index : at])
            if src[at] == "&":
                char, self.index = decode_entity(src, at)
                self.emit(char)
            elif src.startswith("/", at + 1):
                self.close_tag(at)
            else:
                self.open_tag(at)
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        entities = sort_entities(self.entities)
        entities = drop_nested_blockquotes(drop_nested_in_code(entities))
        return FormattedText("".join(self.chunks), entities)

    def emit(self, text: str) -> None:
        self.chunks.append(text)
        self.pos += utf16_len(text)

    def byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8", "surrogatepass"))

    def unclosed_start(self, begin: int) -> EntityParseError:
        return EntityParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")

    def skip_spaces(self, i: int) -> int:
        while i < self.size and self.src[i] in _SPACES:
            i += 1
        return i

    def open_tag(self, begin: int) -> None:
        src, size = self.src, self.size
        i = begin + 1
        while i < size and src[i] not in _SPACES and src[i] != ">":
            i += 1
        if i >= size:
            raise self.unclosed_start(begin)
        tag = src[begin + 1 : i].lower()
        if tag not in _TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        argument = ""
        while src[i] != ">":
            i = self.skip_spaces(i)
            if i >= size:
                raise self.unclosed_start(begin)
            if src[i] == ">":
                break
            name_start = i
            while i < size and src[i] not in _SPACES and src[i] not in "=>":
                i += 1
            name = src[name_start:i].lower()
            if not name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{self.byte_offset(begin)}"
                )
            i = self.skip_spaces(i)
            if i >= size:
                raise self.unclosed_start(begin)
            if src[i] != "=":
                if tag == "blockquote" and name == "expandable":
                    argument = "expandable"
                    continue
                raise EntityParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {self.byte_offset(begin)}'
                )
            i = self.skip_spaces(i + 1)
            if i >= size:
                raise EntityParseError(
                    f'Unclosed start tag "{tag}" at byte offset {self.byte_offset(begin)}'
                )
            value, i = self.attribute_value(i, begin)
            argument = _argument(tag, name, value, argument)
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}'
            )
        if tag == "tg-emoji" and not argument.isdigit():
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset '
                f"{self.byte_offset(begin)}"
            )
        self.stack.append(_Open(tag, argument, self.pos))
        self.index = i + 1

    def attribute_value(self, i: int, begin: int) -> tuple[str, int]:
        src, size = self.src, self.size
        quote = src[i]
        if quote not in "'\"":
            match = _NAME_TOKEN.match(src, i)
            assert match is not None
            end = match.end()
            if end >= size:
                raise self.unclosed_start(begin)
            if src[end] not in _SPACES and src[end] != ">":
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(i)}"
                )
            return match.group().lower(), end
        i += 1
        parts: list[str] = []
        while i < size and src[i] != quote:
            if src[i] == "&":
                char, i = decode_entity(src, i)
                parts.append(char)
                continue
            stop = min(_find(src, quote, i), _find(src, "&", i))
            parts.append(src[i:stop])
            i = stop
        if i + 1 >= size:
            raise self.unclosed_start(begin)
        return "".join(parts), i + 1

    def close_tag(self, begin: int) -> None:
        src, size = self.src, self.size
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        i = begin + 2
        while i < size and src[i] not in _SPACES and src[i] != ">":
            i += 1
        end_name = src[begin + 2 : i].lower()
        i = self.skip_spaces(i)
        if i >= size or src[i] != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        opened = self.stack.pop()
        if end_name and end_name != opened.tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{opened.tag}>", found "</{end_name}>"'
            )
        self.index = i + 1
        self.finish(opened)

    def finish(self, opened: _Open) -> None:
        length = self.pos - opened.start
        if length <= 0:
            return
        tag, start = opened.tag, opened.start
        simple = _SIMPLE_TYPES.get(tag)
        if simple is not None:
            self.entities.append(Entity(start, length, simple))
        elif tag == "a":
            url = valid_url(opened.argument or utf16_slice("".join(self.chunks), start, self.pos))
            if url is not None:
                self.entities.append(Entity(start, length, "text_link", url=url))
        elif tag == "code":
            self.entities.append(Entity(start, length, "code"))
            if opened.argument:
                self.code_languages[len(self.entities) - 1] = opened.argument
        elif tag == "pre":
            self.finish_pre(start, length)
        elif tag == "blockquote":
            kind = "expandable_blockquote" if opened.argument else "blockquote"
            self.entities.append(Entity(start, length, kind))
        else:
            self.entities.append(
                Entity(start, length, "custom_emoji", custom_emoji_id=opened.argument)
            )

    def finish_pre(self, start: int, length: int) -> None:
        """`<pre><code class="language-x">` becomes one pre entity with a language."""
        last = len(self.entities) - 1
        if last >= 0:
            inner = self.entities[last]
            if inner.type == "code" and inner.offset == start and inner.length == length:
                language = self.code_languages.pop(last, None)
                self.entities[last] = Entity(start, length, "pre", language=language)
                return
        self.entities.append(Entity(start, length, "pre"))


def _argument(tag: str, name: str, value: str, current: str) -> str:
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "expandable"
    return current


def _find(text: str, char: str, start: int) -> int:
    found = text.find(char, start)
    return len(text) if found < 0 else found
