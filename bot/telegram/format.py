"""The adapter's name for the shared formatting (`bot.formatting`).

Formatting moved below the domain so digests and admin messages can use it
without importing the Telegram adapter; handlers keep importing it from here.
"""

from __future__ import annotations

from bot.formatting import (
    MESSAGE_LIMIT,
    POST_SUMMARY_LIMIT,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    Segment,
    article_block,
    article_post,
    escape,
    hashtag,
    link,
    local_date,
    pack,
    plain,
    snippet_html,
    truncate,
    utf16_len,
    visible_length,
)

__all__ = [
    "MESSAGE_LIMIT",
    "POST_SUMMARY_LIMIT",
    "SUMMARY_LIMIT",
    "TITLE_LIMIT",
    "Segment",
    "article_block",
    "article_post",
    "escape",
    "hashtag",
    "link",
    "local_date",
    "pack",
    "plain",
    "snippet_html",
    "truncate",
    "utf16_len",
    "visible_length",
]
