"""A digest as Telegram HTML messages in the target's language.

Pure. At most `max_items` articles are listed; the rest sit behind a "show
more" button whose callback data names the target and the article-id range
the digest covered, so a press after a restart re-reads the same articles
from the store and pages on from `offset`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final, Literal

from bot.digest.schedule import zone
from bot.digest.select import Selection
from bot.i18n import long_date, t
from bot.store.articles import Article
from bot.telegram.format import article_block, article_post, escape, pack, truncate

Heading = Literal["daily", "weekly", "instant", "now", "more"]

CALLBACK_PREFIX: Final = "dg:"
_CALLBACK: Final = re.compile(r"^dg:(\d{1,12}):(\d{1,12}):(\d{1,12}):(\d{1,6})$")
KEYWORDS_HEADING_LIMIT: Final = 200


@dataclass(frozen=True)
class PageRef:
    """Which digest a "show more" button belongs to: the target and the
    article ids it covered, `after_id` < id <= `upto_id`."""

    target_id: int
    after_id: int
    upto_id: int

    def data(self, offset: int) -> str:
        """Callback data for the page starting at item `offset` (at most 47 bytes)."""
        return f"{CALLBACK_PREFIX}{self.target_id}:{self.after_id}:{self.upto_id}:{offset}"


def parse_callback(data: str | None) -> tuple[PageRef, int] | None:
    """The page a "dg:" button asks for, or None for data this module never made."""
    match = _CALLBACK.match(data or "")
    if match is None:
        return None
    target_id, after_id, upto_id, offset = (int(group) for group in match.groups())
    if after_id >= upto_id:
        return None
    return PageRef(target_id, after_id, upto_id), offset


@dataclass(frozen=True)
class DigestMessage:
    """One message: HTML text and, on the last one, the "show more" keyboard
    as Bot API JSON."""

    text: str
    reply_markup: dict[str, Any] | None = None


def heading_text(heading: Heading, *, language: str, timezone: str, now: int) -> str:
    moment = datetime.fromtimestamp(now, UTC).astimezone(zone(timezone))
    return t(language, f"digest.header_{heading}", date=escape(long_date(moment, language)))


def group_heading(
    topic: str | None, keywords: Sequence[str], *, language: str, topic_names: Mapping[str, str]
) -> str:
    if topic is not None:
        return t(language, "digest.topic", topic=escape(topic_names.get(topic, topic)))
    quoted = ", ".join(f"“{keyword}”" for keyword in keywords)
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
    ref: PageRef,
    offset: int = 0,
) -> list[DigestMessage]:
    """The messages for items `offset` … `offset + max_items` of the selection.

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
    if rest > 0:
        button = {
            "text": t(language, "digest.more_button", count=rest),
            "callback_data": ref.data(offset + len(page)),
        }
        messages[-1] = DigestMessage(messages[-1].text, {"inline_keyboard": [[button]]})
    return messages


def channel_posts(selection: Selection, articles: Mapping[int, Article]) -> list[DigestMessage]:
    """Instant mode in a channel: one post per article, oldest first, so the
    channel reads in publication order."""
    ids = sorted({article_id for group in selection.groups for article_id in group.article_ids})
    return [DigestMessage(article_post(articles[article_id])) for article_id in ids]
