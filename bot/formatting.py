"""Telegram HTML for articles and lists, always escaped, always within limits.

A shared piece: digests, admin messages and the Telegram adapter's replies all
build their text here, so nothing in the domain has to import the adapter.

Telegram counts a message's length after entity parsing, in UTF-16 code
units, up to 4096. Article text is cut *before* it is escaped (so an entity is
never split), each article becomes one block of bounded size, and blocks are
packed into messages at block boundaries.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.i18n import short_date
from bot.languages import FLAGS, flag
from bot.store.articles import Article, Translation

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
TITLE_LIMIT = 300
SUMMARY_LIMIT = 350
TRANSLATION_TITLE_LIMIT = 60
"""The other version's title is clipped to this: it names the story, the
article above it tells it."""
LONG_SUMMARY = 200
"""A summary longer than this many characters (as cut) is shown folded, in an
expandable quote: a digest then reads as its headlines, each summary a tap away,
while a short one (a line or two) reads as well as it would folded."""
_TAG = re.compile(r"<[^>]*>")


class Segment(Protocol):
    """A piece of an excerpt, marked where it matched (`bot.search.snippet.Segment`
    has this shape; formatting sits below search, so it names the shape only)."""

    @property
    def text(self) -> str: ...
    @property
    def marked(self) -> bool: ...


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def plain(markup: str) -> str:
    """Markup as plain text, for places without HTML (button alerts, inline titles)."""
    return html.unescape(_TAG.sub("", markup))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_length(markup: str) -> int:
    """Length Telegram measures: the text after tags and entities are parsed."""
    return utf16_len(plain(markup))


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def link(url: str | None, text: str) -> str:
    """A link only for http(s) URLs; anything else stays plain text."""
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}">{escape(text)}</a>'
    return escape(text)


_LINK = re.compile(r'<a href="([^"]*)">')
_TRANSLATION_LINK = re.compile(
    "^(?:" + "|".join(re.escape(mark) for mark in FLAGS.values()) + r') <a href="[^"]*">',
    re.MULTILINE,
)


def linked_urls(markup: str) -> list[str]:
    """The URLs of the links `link` made in `markup`, in order: the articles a
    message names, the first being the one it leads with. A story's line naming
    its other version (`translation_line`) names no further article: it is
    left out, so a message of one paired story still leads with that story."""
    return [html.unescape(url) for url in _LINK.findall(_TRANSLATION_LINK.sub("", markup))]


def translation_line(translation: Translation) -> str:
    """The link to a story's other version, named by its flag and title:
    "🇪🇸 La muerte de Migrantes en Chihuahua…" (the title alone, without a URL)."""
    title = truncate(translation.title, TRANSLATION_TITLE_LIMIT)
    return f"{flag(translation.language)} {link(translation.url, title)}"


def snippet_html(segments: Sequence[Segment], limit: int = SUMMARY_LIMIT) -> str:
    parts: list[str] = []
    used = 0
    for segment in segments:
        text = segment.text
        if used + len(text) > limit:
            text = truncate(text, max(limit - used, 2))
        used += len(text)
        parts.append(f"<b>{escape(text)}</b>" if segment.marked else escape(text))
        if used >= limit:
            break
    return "".join(parts)


_DATES: dict[tuple[date, str], str] = {}
_DATES_KEPT = 4_096


def local_date(timestamp: int, timezone: str, language: str) -> str:
    """The date in the zone, as the language writes it. Kept per (date, language):
    formatting one with babel costs more than the rest of an article's block."""
    moment = datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(timezone))
    key = (moment.date(), language)
    text = _DATES.get(key)
    if text is None:
        text = short_date(moment, language)
        if len(_DATES) >= _DATES_KEPT:
            _DATES.clear()
        _DATES[key] = text
    return text


def local_days(timestamps: Iterable[int], timezone: str) -> tuple[date, ...]:
    """Each moment's date in the zone: all that `local_date`, and so an article's
    block (`article_block`), takes from a zone. Zones that agree on the dates of
    a digest's articles give them the same blocks (`Composer.zone`)."""
    where = ZoneInfo(timezone)
    return tuple(datetime.fromtimestamp(moment, where).date() for moment in timestamps)


def hashtag(slug: str) -> str:
    return "#" + re.sub(r"\W+", "_", slug).strip("_")


def article_block(
    article: Article,
    *,
    language: str,
    topic_names: dict[str, str],
    timezone: str = "UTC",
    snippet: Sequence[Segment] | None = None,
    number: int | None = None,
    with_summary: bool = True,
    summary_limit: int = SUMMARY_LIMIT,
) -> str:
    """One article: linked bold title, date and topics, then a snippet or summary.
    An undated article shows no date: the time it was fetched would pass for one."""
    title = link(article.url, truncate(article.title, TITLE_LIMIT))
    prefix = f"{number}. " if number is not None else ""
    lines = [f"{prefix}<b>{title}</b>"]
    details = [local_date(article.published_at, timezone, language)] if article.dated else []
    names = [topic_names.get(slug, slug) for slug in article.topics]
    if names:
        details.append(", ".join(names))
    if details:
        lines.append(f"<i>{escape(' · '.join(details))}</i>")
    if snippet:
        lines.append(snippet_html(snippet))
    elif with_summary and article.summary and summary_limit > 0:
        lines.append(summary_html(article.summary, summary_limit))
    if article.translation is not None:
        lines.append(translation_line(article.translation))
    return "\n".join(lines)


def summary_html(summary: str, limit: int) -> str:
    """A summary cut to `limit` characters and escaped; a long one (over
    `LONG_SUMMARY`) folded in an expandable quote."""
    cut = truncate(summary, limit)
    text = escape(cut)
    return f"<blockquote expandable>{text}</blockquote>" if len(cut) > LONG_SUMMARY else text


MIN_CAPTION_SUMMARY = 20
"""A summary cut shorter than this says nothing: the caption goes without it."""


def fit_caption(render: Callable[[int], str], summary: str, limit: int) -> str | None:
    """`render(summary_limit)` within Telegram's caption limit (1,024 UTF-16
    units once parsed): the summary is cut at a word, with "…", until the whole
    fits, and left out if it would say nothing; title, link and hashtags stay.
    None when even without the summary it does not fit (send the text instead)."""
    limit = min(limit, len(" ".join(summary.split())))
    while True:
        text = render(limit)
        excess = visible_length(text) - CAPTION_LIMIT
        if excess <= 0:
            return text
        if limit <= 0:
            return None
        # Each character cut is at least one UTF-16 unit; one more for the "…".
        limit -= excess + 1
        if limit < MIN_CAPTION_SUMMARY:
            limit = 0


POST_SUMMARY_LIMIT = 700


SOURCE_LIMIT = 80


def article_post(
    article: Article, *, summary_limit: int = POST_SUMMARY_LIMIT, source: str | None = None
) -> str:
    """One article as a channel post: title, summary, link, the feed it came
    from (`source`, given when the bot reads several) and topics as hashtags.

    Channel readers expect a post per article, with the link previewed."""
    lines = [f"<b>{link(article.url, truncate(article.title, TITLE_LIMIT))}</b>"]
    if article.summary and summary_limit > 0:
        lines.append(summary_html(article.summary, summary_limit))
    if article.url and article.url.startswith(("http://", "https://")):
        lines.append(link(article.url, truncate(article.url, 120)))
    if article.translation is not None:
        lines.append(translation_line(article.translation))
    if source:
        lines.append(f"📰 <i>{escape(truncate(source, SOURCE_LIMIT))}</i>")
    if article.topics:
        lines.append(" ".join(hashtag(slug) for slug in article.topics))
    return "\n\n".join(lines)


def post_caption(article: Article, *, source: str | None = None) -> str | None:
    """The article's post as a photo's caption, its summary cut to fit
    (`fit_caption`); None when it cannot fit."""
    return fit_caption(
        lambda limit: article_post(article, summary_limit=limit, source=source),
        article.summary,
        POST_SUMMARY_LIMIT,
    )


def pack(
    blocks: Iterable[str],
    *,
    header: str = "",
    footer: str = "",
    separator: str = "\n\n",
    limit: int = MESSAGE_LIMIT,
) -> list[str]:
    """Blocks packed into as few messages as fit, split only between blocks.

    The header opens the first message and the footer closes the last. A block
    that alone exceeds the limit is never produced by this module's builders;
    if one comes, it is cut as plain text so the message is still valid.
    """
    messages: list[str] = []
    current = header
    for block in blocks:
        if visible_length(block) > limit - 16:
            block = escape(truncate(plain(block), limit // 2))
        candidate = f"{current}{separator}{block}" if current else block
        if visible_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            messages.append(current)
        current = block
    if footer:
        candidate = f"{current}{separator}{footer}" if current else footer
        if visible_length(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = footer
    if current:
        messages.append(current)
    return messages


def pack_measured(
    blocks: Iterable[tuple[str, int]],
    *,
    header: tuple[str, int] = ("", 0),
    footer: tuple[str, int] = ("", 0),
    separator: str = "\n\n",
    limit: int = MESSAGE_LIMIT,
) -> list[str]:
    """`pack` for blocks whose visible lengths are known: (markup, visible_length).

    Packing a digest measured each candidate message again, block after block;
    here the lengths are added instead. That gives `pack`'s answer whenever no
    tag or entity spans the joint between two pieces, which holds for markup
    made by this module's builders and the catalogues (every `<` opens a tag
    closed by `>`, every `&` starts a complete entity) — not for arbitrary text.
    """
    opened = pack_open(blocks, header=header, separator=separator, limit=limit)
    return [*opened.messages, *opened.close(footer)]


@dataclass(frozen=True)
class OpenPack:
    """Blocks packed as `pack_measured` packs them, the footer not added yet:
    the messages already full, and the last one (its markup and visible
    length, "" when there is none). Many digests differ only in their footer
    ("… and 12 more"): they share one of these."""

    messages: tuple[str, ...]
    last: str
    used: int
    separator: str
    limit: int

    def close(self, footer: tuple[str, int] = ("", 0)) -> list[str]:
        """The last messages once the footer is added: the open one with the
        footer, or it and the footer on its own when both do not fit."""
        text, length = footer
        last, used = self.last, self.used
        if not text:
            return [last] if last else []
        if not last:
            return [text]
        if used + visible_length(self.separator) + length <= self.limit:
            return [f"{last}{self.separator}{text}"]
        return [last, text]


def pack_open(
    blocks: Iterable[tuple[str, int]],
    *,
    header: tuple[str, int] = ("", 0),
    separator: str = "\n\n",
    limit: int = MESSAGE_LIMIT,
) -> OpenPack:
    """`pack_measured` without the footer (`OpenPack.close` adds it)."""
    gap = visible_length(separator)
    messages: list[str] = []
    parts: list[str] = []
    text, used = header
    if text:
        parts.append(text)
    for block, length in blocks:
        if length > limit - 16:
            block = escape(truncate(plain(block), limit // 2))
            length = visible_length(block)
        if parts:
            if used + gap + length <= limit:
                parts += (separator, block)
                used += gap + length
                continue
            messages.append("".join(parts))
        elif length <= limit:
            if block:
                parts.append(block)
            used = length
            continue
        parts, used = ([block] if block else []), length
    return OpenPack(tuple(messages), "".join(parts), used, separator, limit)
