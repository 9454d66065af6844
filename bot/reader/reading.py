"""Reading an article inside the chat: its stored full text as Telegram messages.

The stored HTML (sanitised by nh3 at ingest, `bot.ingest.content`) is turned
into plain text and message entities by sulguk, a maintained converter of HTML
to Telegram entities: headings, paragraphs, nested lists, links, quotes and
emphasis come out as Telegram shows them, images as "🖼️" links, and offsets
in UTF-16 code units, as Telegram counts. Sending text with `entities` rather
than parse_mode HTML means nothing is re-parsed: no markup Telegram might
refuse, and a long text is cut anywhere without unbalancing a tag.

A text longer than one message is split under `MESSAGE_LIMIT` at paragraph
boundaries (a line break, then a space, when a paragraph alone is too long);
an entity that crosses a cut is clipped into both parts. At most `max_parts`
messages are sent: a longer text, or one the ingest truncated, ends with a
line that links to the article.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bot.i18n import t
from bot.store import articles
from bot.store.articles import Article, FullContent
from bot.store.db import Database

__all__ = [
    "MESSAGE_LIMIT",
    "READ_FORM",
    "READ_PATTERN",
    "Part",
    "convert",
    "read",
    "read_button",
    "reading",
    "split",
]

MESSAGE_LIMIT: Final = 4096
"""A message's text, in UTF-16 code units after entities are applied."""
READ_PATTERN: Final = r"^rd:(?P<id>\d{1,12})$"
"""The 📖 Read button's data (the button registry, `bot.telegram.keyboards`,
routes by it): the article's id, nothing else, so any chat it is pressed in
reads the same article."""
READ_FORM: Final = "rd:{id}"

Entity = dict[str, Any]

# Tags nh3 keeps that sulguk does not know (it refuses them): renamed to the
# nearest it does. nh3's output is well-formed and escapes "<" in text, so a
# tag name is only ever found inside a tag.
_RENAMED: Final = {
    "figure": "div",
    "table": "div",
    "thead": "div",
    "tbody": "div",
    "tfoot": "div",
    "dl": "div",
    "figcaption": "p",
    "caption": "p",
    "tr": "p",
    "dt": "p",
    "dd": "p",
    "td": "span",
    "th": "span",
    "abbr": "span",
    "small": "span",
    "sub": "span",
    "sup": "span",
}
_TAG: Final = re.compile(r"<(/?)(" + "|".join(_RENAMED) + r")\b([^>]*)>")


@dataclass(frozen=True)
class Part:
    """One message: its text and entities (Bot API JSON, offsets in UTF-16)."""

    text: str
    entities: tuple[Entity, ...] = field(default=())

    def request(self) -> dict[str, Any]:
        """sendMessage parameters, less the chat."""
        request: dict[str, Any] = {"text": self.text}
        if self.entities:
            request["entities"] = [dict(entity) for entity in self.entities]
        return request


def read_button(article_id: int, language: str) -> dict[str, str]:
    """The 📖 Read button as Bot API JSON, for messages built below the adapter."""
    return {"text": t(language, "reading.button"), "callback_data": READ_FORM.format(id=article_id)}


def _renamed(match: re.Match[str]) -> str:
    closing, tag, rest = match.groups()
    # A cell is followed by a space, so a row reads "a b c", not "abc".
    space = " " if closing and tag in ("td", "th") else ""
    return f"<{closing}{_RENAMED[tag]}{'' if closing else rest}>{space}"


def convert(html: str) -> Part:
    """The whole text of sanitised HTML with its entities (not yet split)."""
    from sulguk import transform_html

    try:
        result = transform_html(_TAG.sub(_renamed, html))
    except ValueError:
        # sulguk refuses a tag it does not know: none should be left after
        # the renaming, but a reader still gets the words.
        import nh3

        return Part(_plain(nh3.clean(html, tags=set())))
    return Part(result.text, tuple(dict(entity) for entity in result.entities))


def _plain(text: str) -> str:
    import html

    return html.unescape(text).strip()


def _units(text: str) -> list[int]:
    """UTF-16 offset of each character boundary: `units[i]` is where text[i] starts."""
    return [0, *itertools.accumulate(2 if ord(ch) > 0xFFFF else 1 for ch in text)]


_BREAKS: Final = ("\n\n", "\n", " ")


def split(part: Part, limit: int = MESSAGE_LIMIT) -> list[Part]:
    """`part` cut into parts of at most `limit` UTF-16 units each, in order, at
    the last paragraph break that fits (else line break, else space, else
    anywhere between two characters); whitespace at the cuts is dropped and
    every entity is clipped to each part it overlaps."""
    text = part.text
    units = _units(text)
    parts: list[Part] = []
    start = _skip_space(text, 0)
    while start < len(text):
        end = bisect.bisect_right(units, units[start] + limit) - 1  # chars that fit
        end = len(text) if end >= len(text) else _cut(text, start, end)
        stop = start + len(text[start:end].rstrip())
        if stop > start:
            parts.append(_slice(part, units, start, stop))
        start = _skip_space(text, max(end, start + 1))
    return parts


def _cut(text: str, start: int, end: int) -> int:
    """Where to end the part text[start:end]: after its last break, best first."""
    for mark in _BREAKS:
        found = text.rfind(mark, start, end)
        if found > start:
            return found
    return end


def _skip_space(text: str, at: int) -> int:
    # Not str.isspace: a nested list item is indented by no-break spaces.
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _slice(part: Part, units: list[int], start: int, stop: int) -> Part:
    low, high = units[start], units[stop]
    entities = []
    for entity in part.entities:
        begin = max(entity["offset"], low)
        end = min(entity["offset"] + entity["length"], high)
        if end > begin:
            entities.append({**entity, "offset": begin - low, "length": end - begin})
    return Part(part.text[start:stop], tuple(entities))


def _joined(first: Part, second: Part, gap: str = "\n\n") -> Part:
    shift = len((first.text + gap).encode("utf-16-le")) // 2
    moved = ({**e, "offset": e["offset"] + shift} for e in second.entities)
    return Part(first.text + gap + second.text, (*first.entities, *moved))


def _heading(article: Article) -> Part:
    """The article's title in bold, linked to the article when it has a link."""
    length = len(article.title.encode("utf-16-le")) // 2
    entities: list[Entity] = [{"type": "bold", "offset": 0, "length": length}]
    if article.url:
        entities.append({"type": "text_link", "offset": 0, "length": length, "url": article.url})
    return Part(article.title, tuple(entities))


def _more(article: Article, language: str) -> Part:
    """The closing line of a text cut short: where the rest is."""
    if not article.url:
        return Part(t(language, "reading.cut"))
    text = t(language, "reading.continue")
    length = len(text.encode("utf-16-le")) // 2
    return Part(text, ({"type": "text_link", "offset": 0, "length": length, "url": article.url},))


def reading(
    article: Article,
    content: FullContent,
    *,
    language: str,
    max_parts: int,
    limit: int = MESSAGE_LIMIT,
) -> list[Part]:
    """The messages that read `article` in the chat: its title, then its text,
    split; at most `max_parts`, the last ending with a link to the rest when
    anything is left out."""
    body = convert(content.html)
    whole = _joined(_heading(article), body) if body.text else _heading(article)
    parts = split(whole, limit)
    cut = content.truncated or len(parts) > max_parts
    parts = parts[: max(max_parts, 1)]
    if cut:
        more = _more(article, language)
        room = limit - len(more.text.encode("utf-16-le")) // 2 - 2
        last = split(parts[-1], room)[0]
        parts[-1] = _joined(last, more)
    return parts


async def read(
    db: Database, article_id: int, *, language: str, max_parts: int
) -> Sequence[Part] | None:
    """The messages reading the article, or None when it is unknown or has no
    full text (its feed carried only a summary). The conversion, tens of
    milliseconds for a long article, runs off the event loop."""
    found = await articles.get_many(db, [article_id])
    if not found:
        return None
    article = found[0]
    content = await articles.full_content(db, article_id)
    if content is None:
        return None
    return await asyncio.to_thread(
        reading, article, content, language=language, max_parts=max_parts
    )
