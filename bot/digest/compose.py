"""A digest as Telegram HTML messages in the target's language.

Pure. At most `max_items` articles are listed; the rest sit behind a "show
more" button whose callback data names the article-id range the digest
covered, so a press after a restart re-reads the same articles from the store
and pages on from `offset`. The button does not name the target: the chat (and
forum topic) it is pressed in does. So every target that gets the same page
gets the very same request, which the outbox stores once for all of them.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final, Literal

from cachetools import FIFOCache

from bot.digest.schedule import zone
from bot.digest.select import Selection
from bot.formatting import (
    SUMMARY_LIMIT,
    OpenPack,
    article_block,
    article_post,
    escape,
    fit_caption,
    linked_urls,
    local_days,
    pack,
    pack_open,
    post_caption,
    truncate,
    visible_length,
)
from bot.i18n import long_date, t
from bot.reader.reading import read_button
from bot.store.articles import Article
from bot.store.outbox import encode_text

Heading = Literal["daily", "weekly", "instant", "now", "more", "sample"]

PAGE_PATTERN: Final = (
    r"^dg:(?:(?P<target>\d{1,12}):)?(?P<after>\d{1,12}):(?P<upto>\d{1,12}):(?P<offset>\d{1,6})$"
)
"""A "show more" button's data (the button registry, `bot.telegram.keyboards`, routes by it)."""
PAGE_FORM: Final = "dg:{after}:{upto}:{offset}"
_CALLBACK: Final = re.compile(PAGE_PATTERN)
KEYWORDS_HEADING_LIMIT: Final = 200


@dataclass(frozen=True)
class PageRef:
    """Which digest a "show more" button belongs to: the article ids it
    covered, `after_id` < id <= `upto_id`. `target_id` is set only for a
    button made before buttons left the target to where they are pressed
    (`dg:<target>:<after>:<upto>:<offset>`); such buttons keep working."""

    after_id: int
    upto_id: int
    target_id: int | None = None

    def data(self, offset: int) -> str:
        """Callback data for the page starting at item `offset` (at most 34 bytes)."""
        return PAGE_FORM.format(after=self.after_id, upto=self.upto_id, offset=offset)


def parse_callback(data: str | None) -> tuple[PageRef, int] | None:
    """The page a "dg:" button asks for, or None for data this module never made."""
    match = _CALLBACK.match(data or "")
    if match is None:
        return None
    target, after, upto, offset = match.groups()
    after_id, upto_id = int(after), int(upto)
    if after_id >= upto_id:
        return None
    return PageRef(after_id, upto_id, None if target is None else int(target)), int(offset)


@dataclass(frozen=True)
class Photo:
    """A message sent as a photo (by URL, which Telegram fetches) with an HTML
    caption; the message's text is what goes when Telegram cannot use the image."""

    url: str
    caption: str


@dataclass(frozen=True)
class DigestMessage:
    """One message: HTML text and, on the last one, the "show more" keyboard
    as Bot API JSON. `encoded_text`, when known, is the text as the outbox
    encodes it (`outbox.encode_text`), done once for the many chats that get it.
    With a `photo`, the message goes as that photo, the text as its fallback."""

    text: str
    reply_markup: dict[str, Any] | None = None
    encoded_text: str | None = field(default=None, compare=False)
    photo: Photo | None = None
    urls: tuple[str, ...] | None = field(default=None, compare=False)
    """`linked_urls(text)`, when known (found once for the many pages that share
    all but their footer)."""


def heading_text(heading: Heading, *, language: str, timezone: str, now: int) -> str:
    moment = datetime.fromtimestamp(now, UTC).astimezone(zone(timezone))
    return t(language, f"digest.header_{heading}", date=escape(long_date(moment, language)))


def group_heading(
    topic: str | None, keywords: Sequence[str], *, language: str, topic_names: Mapping[str, str]
) -> str:
    if topic is not None:
        return t(language, "digest.topic", topic=escape(topic_names.get(topic, topic)))
    quoted = ", ".join(t(language, "digest.keyword", keyword=keyword) for keyword in keywords)
    return t(language, "digest.keywords", keywords=escape(truncate(quoted, KEYWORDS_HEADING_LIMIT)))


@lru_cache(maxsize=8192)
def _block(
    article: Article, language: str, timezone: str, names: tuple[tuple[str, str], ...]
) -> str:
    """An article's block without its number: the same article in the same
    language and zone is rendered once per process, not once per target."""
    return article_block(article, language=language, topic_names=dict(names), timezone=timezone)


def compose(
    selection: Selection,
    articles: Mapping[int, Article],
    *,
    language: str,
    timezone: str,
    now: int,
    heading: Heading,
    topic_names: Mapping[str, str],
    max_items: int,
    ref: PageRef | None,
    offset: int = 0,
) -> list[DigestMessage]:
    """The messages for items `offset` … `offset + max_items` of the selection,
    the last with a "show more" button for the rest unless `ref` is None.

    Articles missing from `articles` (deleted since) are left out. Nothing to
    show gives no message at all: a digest is never empty.
    """
    items: list[tuple[int, Article]] = []  # (group index, article) in reading order
    for index, group in enumerate(selection.groups):
        items.extend((index, articles[i]) for i in group.article_ids if i in articles)
    page = items[offset : offset + max(max_items, 1)]
    if not page:
        return []
    names = tuple(sorted(topic_names.items()))
    blocks: list[str] = []
    previous_group: int | None = None
    for number, (index, article) in enumerate(page, start=offset + 1):
        block = f"{number}. " + _block(article, language, timezone, names)
        if index != previous_group:
            group = selection.groups[index]
            title = group_heading(
                group.topic, group.keywords, language=language, topic_names=topic_names
            )
            block = f"{title}\n\n{block}"
            previous_group = index
        blocks.append(block)
    rest = len(items) - offset - len(page)
    footer = t(language, "digest.more", count=rest) if rest > 0 else ""
    texts = pack(
        blocks,
        header=heading_text(heading, language=language, timezone=timezone, now=now),
        footer=footer,
    )
    messages = [DigestMessage(text) for text in texts]
    if rest > 0 and ref is not None:
        button = {
            "text": t(language, "digest.more_button", count=rest),
            "callback_data": ref.data(offset + len(page)),
        }
        messages[-1] = DigestMessage(messages[-1].text, {"inline_keyboard": [[button]]})
    return messages


Measured = tuple[str, int]  # markup and its visible length


@dataclass(frozen=True)
class Packed:
    """A page of a digest packed into message texts, before any target's button."""

    texts: tuple[str, ...]
    encoded: tuple[str | None, ...]  # each text encoded for the outbox, when shared
    rest: int  # items after this page
    next_offset: int
    urls: tuple[tuple[str, ...] | None, ...] = ()  # each text's linked_urls, when shared


@dataclass(frozen=True)
class Located:
    """A page found by `Composer.locate`: its packing and its footer."""

    body: _Body
    footer: Measured
    rest: int
    next_offset: int

    @property
    def identity(self) -> tuple[int, int]:
        return (self.body.serial, self.rest)

    def packed(self, *, encode: bool = False) -> Packed:
        return self.body.close(self.footer, self.rest, self.next_offset, encode)


class _Body:
    """A packed page before its footer: what the `Packed` pages that differ only
    in their footer are made from, with its texts encoded once."""

    __slots__ = ("_encoded", "_linked", "opened", "serial", "size")

    def __init__(self, opened: OpenPack, serial: int) -> None:
        self.opened = opened
        self.serial = serial
        # Its texts, and their encoding once a run asks for it.
        self.size = 2 * (sum(map(sys.getsizeof, opened.messages)) + sys.getsizeof(opened.last))
        self._encoded: tuple[tuple[str, ...], str] | None = None
        self._linked: tuple[tuple[tuple[str, ...], ...], tuple[str, ...]] | None = None

    def close(self, footer: Measured, rest: int, next_offset: int, encode: bool) -> Packed:
        tail = self.opened.close(footer)
        texts = (*self.opened.messages, *tail)
        if not encode:
            return Packed(texts, (None,) * len(texts), rest, next_offset, (None,) * len(texts))
        return Packed(texts, self._encode(tail), rest, next_offset, self._urls(tail))

    def _urls(self, tail: list[str]) -> tuple[tuple[str, ...], ...]:
        """Each text's `linked_urls`, the shared beginning's found once: a link
        is within a block, so those of a text that starts with the open message
        are that message's followed by those of the rest (the footer)."""
        if self._linked is None:
            opened = self.opened
            self._linked = (
                tuple(tuple(linked_urls(text)) for text in opened.messages),
                tuple(linked_urls(opened.last)),
            )
        messages, last = self._linked
        known = self.opened.last
        found = []
        for text in tail:
            if known and text.startswith(known):
                rest = text[len(known) :]
                found.append((*last, *linked_urls(rest)) if rest else last)
            else:
                found.append(tuple(linked_urls(text)))
        return (*messages, *found)

    def _encode(self, tail: list[str]) -> tuple[str, ...]:
        """The texts encoded for the outbox, the shared beginning encoded once:
        JSON escapes a string character by character, so the encoding of a
        text that starts with the open message is that message's encoding
        followed by the rest's."""
        if self._encoded is None:
            opened = self.opened
            self._encoded = (tuple(map(encode_text, opened.messages)), encode_text(opened.last))
        messages, last = self._encoded
        known = self.opened.last
        encoded = []
        for text in tail:
            if known and text.startswith(known):
                encoded.append(last[:-1] + encode_text(text[len(known) :])[1:])
            else:
                encoded.append(encode_text(text))
        return (*messages, *encoded)


class Composer:
    """`compose` for the many targets of one run, giving the same messages.

    Targets of a run share the window's articles, the run's time and a few
    languages and zones, so what `compose` renders per target is rendered here
    once and reused: an article's block per (language, zone), headings per
    language, the digest header per (heading, language, zone). Each piece keeps
    its visible length, so packing adds lengths instead of measuring every
    candidate message. A page is packed (`pack`) apart from the "show more"
    button, which names the target (`messages`), so a caller can keep a packed
    page for every target that gets the same one. Every cache is bounded.
    """

    _BLOCKS_KEPT: Final = 65_536
    _BODY_BYTES: Final = 32_000_000
    """Memory for packed pages kept: a run with many distinct pages packs some
    again rather than hold them all."""

    def __init__(
        self,
        articles: Mapping[int, Article],
        *,
        now: int,
        max_items: int,
        topic_names: Callable[[str], Mapping[str, str]],
    ) -> None:
        self._articles = articles
        self._now = now
        self._max_items = max(max_items, 1)
        self._topic_names_of = topic_names
        self._names: dict[str, Mapping[str, str]] = {}
        self._blocks: dict[tuple[int, str, str], Measured] = {}
        self._bodies: FIFOCache[tuple[object, ...], _Body] = FIFOCache(
            self._BODY_BYTES, getsizeof=_size
        )
        self._serials = itertools.count()
        self._headers: dict[tuple[str, str, str], Measured] = {}
        self._zones: dict[tuple[str, str, str], str] = {}
        self._zone_renderings: dict[tuple[object, ...], str] = {}
        self._group_headings: dict[tuple[str, str | None, tuple[str, ...]], Measured] = {}
        self._footers: dict[tuple[str, int], Measured] = {}
        self._buttons: dict[tuple[str, int], str] = {}

    def compose(
        self,
        selection: Selection,
        *,
        language: str,
        timezone: str,
        heading: Heading,
        ref: PageRef | None,
        offset: int = 0,
    ) -> list[DigestMessage]:
        """What `compose(selection, articles, now=…, topic_names=…, max_items=…, …)`
        gives with this composer's articles, time, names and page size."""
        packed = self.pack(
            selection, language=language, timezone=timezone, heading=heading, offset=offset
        )
        return self.messages(packed, language=language, ref=ref)

    def pack(
        self,
        selection: Selection,
        *,
        language: str,
        timezone: str,
        heading: Heading,
        offset: int = 0,
        encode: bool = False,
    ) -> Packed:
        """The page's texts, without the button; `encode` also encodes each for
        the outbox, worth it for a page many targets get."""
        located = self.locate(
            selection, language=language, timezone=timezone, heading=heading, offset=offset
        )
        return Packed((), (), 0, offset) if located is None else located.packed(encode=encode)

    def locate(
        self,
        selection: Selection,
        *,
        language: str,
        timezone: str,
        heading: Heading,
        offset: int = 0,
    ) -> Located | None:
        """Which page `pack` would give, before its texts are put together (None:
        nothing to show). Pages with the same articles under the same headings
        are packed once and differ only in their footer ("… and 12 more"), so
        targets whose keywords add articles past the page share its packing;
        `Located.identity` names the (packing, count), so a caller that keeps
        what it made of a page need not assemble the texts to find it."""
        page, rest, next_offset = self._page(selection, offset)
        if not page:
            return None
        headings = tuple(
            (group.topic, group.keywords) for group in selection.groups[: page[-1][0] + 1]
        )
        key = (page, headings, offset, language, timezone, heading)
        body = self._bodies.get(key)
        if body is None:
            opened = self._open(selection, page, offset, language, timezone, heading)
            body = _Body(opened, next(self._serials))
            if body.size < self._BODY_BYTES // 8:
                self._bodies[key] = body
        footer = self._footer(language, rest) if rest > 0 else ("", 0)
        return Located(body, footer, rest, next_offset)

    def messages(
        self, packed: Packed, *, language: str, ref: PageRef | None
    ) -> list[DigestMessage]:
        """A packed page as one target's messages: with the "show more" button
        for the rest unless `ref` is None."""
        urls = packed.urls or (None,) * len(packed.texts)
        messages = [
            DigestMessage(text, None, encoded, urls=linked)
            for text, encoded, linked in zip(packed.texts, packed.encoded, urls, strict=True)
        ]
        if messages and packed.rest > 0 and ref is not None:
            key = (language, packed.rest)
            label = self._buttons.get(key)
            if label is None:
                label = self._buttons[key] = t(language, "digest.more_button", count=packed.rest)
            button = {"text": label, "callback_data": ref.data(packed.next_offset)}
            last = messages[-1]
            messages[-1] = DigestMessage(
                last.text, {"inline_keyboard": [[button]]}, last.encoded_text, urls=last.urls
            )
        return messages

    def _page(
        self, selection: Selection, offset: int
    ) -> tuple[tuple[tuple[int, int], ...], int, int]:
        """The page's items as (group index, article id) in reading order, how
        many items are left after them, and where the next page starts."""
        present = self._articles.__contains__
        end = offset + self._max_items
        total = 0
        page: list[tuple[int, int]] = []
        for index, group in enumerate(selection.groups):
            ids = group.article_ids
            if not all(map(present, ids)):
                ids = tuple(filter(present, ids))  # deleted since
            if total < end and total + len(ids) > offset:
                start = max(offset - total, 0)
                page += ((index, i) for i in ids[start : start + end - max(total, offset)])
            total += len(ids)
        return tuple(page), total - offset - len(page), offset + len(page)

    def _open(
        self,
        selection: Selection,
        page: tuple[tuple[int, int], ...],
        offset: int,
        language: str,
        timezone: str,
        heading: Heading,
    ) -> OpenPack:
        """The page's blocks packed, the footer not added yet."""
        blocks: list[Measured] = []
        previous_group: int | None = None
        for number, (index, article_id) in enumerate(page, start=offset + 1):
            text, length = self._block(article_id, language, timezone)
            prefix = f"{number}. "
            text, length = prefix + text, len(prefix) + length
            if index != previous_group:
                group = selection.groups[index]
                title, title_length = self._group_heading(language, group.topic, group.keywords)
                text, length = f"{title}\n\n{text}", title_length + 2 + length
                previous_group = index
            blocks.append((text, length))
        return pack_open(blocks, header=self._header(heading, language, timezone))

    def _topic_names(self, language: str) -> Mapping[str, str]:
        names = self._names.get(language)
        if names is None:
            names = self._names[language] = self._topic_names_of(language)
        return names

    def zone(self, language: str, timezone: str, heading: Heading) -> str:
        """A zone in which these articles and the heading read as in `timezone`:
        the first such one asked about. A digest's text takes from its zone only
        the dates of its articles and of its heading, and at a morning's run
        most zones agree on them all, so pages made for one zone are every
        such zone's (the same text, made and stored once)."""
        key = (language, timezone, heading)
        found = self._zones.get(key)
        if found is None:
            dated = (article.published_at for article in self._articles.values() if article.dated)
            rendering = (
                language,
                heading,
                self._header(heading, language, timezone)[0],
                local_days(dated, timezone),
            )
            found = self._zones[key] = self._zone_renderings.setdefault(rendering, timezone)
        return found

    def _block(self, article_id: int, language: str, timezone: str) -> Measured:
        key = (article_id, language, timezone)
        found = self._blocks.get(key)
        if found is None:
            text = article_block(
                self._articles[article_id],
                language=language,
                topic_names=dict(self._topic_names(language)),
                timezone=timezone,
            )
            found = (text, visible_length(text))
            if len(self._blocks) >= self._BLOCKS_KEPT:
                self._blocks.clear()
            self._blocks[key] = found
        return found

    def _group_heading(
        self, language: str, topic: str | None, keywords: tuple[str, ...]
    ) -> Measured:
        key = (language, topic, keywords)
        found = self._group_headings.get(key)
        if found is None:
            text = group_heading(
                topic, keywords, language=language, topic_names=self._topic_names(language)
            )
            found = (text, visible_length(text))
            if len(self._group_headings) >= self._BLOCKS_KEPT:
                self._group_headings.clear()
            self._group_headings[key] = found
        return found

    def _header(self, heading: Heading, language: str, timezone: str) -> Measured:
        key = (heading, language, timezone)
        found = self._headers.get(key)
        if found is None:
            text = heading_text(heading, language=language, timezone=timezone, now=self._now)
            found = self._headers[key] = (text, visible_length(text))
        return found

    def _footer(self, language: str, rest: int) -> Measured:
        key = (language, rest)
        found = self._footers.get(key)
        if found is None:
            text = t(language, "digest.more", count=rest)
            found = self._footers[key] = (text, visible_length(text))
        return found


def channel_posts(
    selection: Selection,
    articles: Mapping[int, Article],
    sources: Mapping[int, str] | None = None,
) -> list[DigestMessage]:
    """Instant mode in a channel: one post per article, oldest first, so the
    channel reads in publication order. An article with a lead image is posted
    as the photo, the post its caption (`post_caption`). `sources` names the
    feeds by id when the bot reads several: each post says its own."""
    ids = sorted({article_id for group in selection.groups for article_id in group.article_ids})
    names = sources or {}
    posts = []
    for article_id in ids:
        article = articles[article_id]
        source = None if article.feed_id is None else names.get(article.feed_id)
        posts.append(_post(article, source))
    return posts


def _post(article: Article, source: str | None = None) -> DigestMessage:
    text = article_post(article, source=source)
    if article.image is None:
        return DigestMessage(text)
    caption = post_caption(article, source=source)
    return DigestMessage(text, photo=None if caption is None else Photo(article.image.url, caption))


def single_item(
    selection: Selection, articles: Mapping[int, Article]
) -> tuple[int, Article] | None:
    """The (group index, article) of a selection that lists one article, as
    `compose` lists it; None when it lists none or several."""
    found: tuple[int, Article] | None = None
    for index, group in enumerate(selection.groups):
        for article_id in group.article_ids:
            article = articles.get(article_id)
            if article is None:
                continue
            if found is not None:
                return None
            found = (index, article)
    return found


def instant_photo(
    selection: Selection,
    articles: Mapping[int, Article],
    *,
    language: str,
    timezone: str,
    now: int,
    topic_names: Mapping[str, str],
) -> Photo | None:
    """An instant digest that holds one article with a lead image goes as the
    photo, captioned with the digest's text (its summary cut to fit the caption
    limit); None for any other digest, which goes as `compose` makes it."""
    item = single_item(selection, articles)
    if item is None or item[1].image is None:
        return None
    index, article = item
    assert article.image is not None
    group = selection.groups[index]
    head = "\n\n".join(
        [
            heading_text("instant", language=language, timezone=timezone, now=now),
            group_heading(group.topic, group.keywords, language=language, topic_names=topic_names),
            "1. ",
        ]
    )
    names = dict(topic_names)

    def render(limit: int) -> str:
        block = article_block(
            article, language=language, topic_names=names, timezone=timezone, summary_limit=limit
        )
        return head + block

    caption = fit_caption(render, article.summary, SUMMARY_LIMIT)
    return None if caption is None else Photo(article.image.url, caption)


def _size(body: _Body) -> int:
    return body.size


def with_read_button(
    messages: Sequence[DigestMessage],
    selection: Selection,
    articles: Mapping[int, Article],
    readable: Collection[int],
    *,
    language: str,
) -> list[DigestMessage]:
    """`messages` with a 📖 Read button under the last when they are about one
    article that has a full text to read (`readable`): a digest of one
    article reads as that article's message, so it is offered whole. Not for
    channels, whose readers could not press it."""
    item = single_item(selection, articles)
    if not messages or item is None or item[1].id not in readable:
        return list(messages)
    last = messages[-1]
    rows = list(last.reply_markup["inline_keyboard"]) if last.reply_markup else []
    rows.append([read_button(item[1].id, language)])
    keyboard = {"inline_keyboard": rows}
    return [
        *messages[:-1],
        DigestMessage(last.text, keyboard, last.encoded_text, last.photo, last.urls),
    ]
