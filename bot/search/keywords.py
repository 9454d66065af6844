"""Keyword subscriptions held to the query rules, once, at start-up.

A rule added to `bot.search.query` applies to new subscriptions at once; the
ones already stored are listed by the migration that brings the rule
(`subscriptions_to_check`) and settled here: each is kept, brought within the
rules (`within_prefix_rules`) or removed, and each chat whose subscriptions
changed gets one notice in its own language, queued in the outbox in the same
transaction. A channel's notice goes to the bot's admins instead: posting it
would show every reader of the channel.

Each is also written in its normal form (`follow.normal_query`), as new ones
are; spellings of one search become one subscription. That changes nothing a
chat follows, so it alone is not told.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import groupby

from bot.formatting import escape, pack, truncate
from bot.i18n import t
from bot.search.follow import normal_query
from bot.search.query import MAX_PREFIXES, MIN_PREFIX_CHARS, within_prefix_rules
from bot.store import feeds, subscriptions
from bot.store.db import Database
from bot.store.outbox import NewMessage
from bot.store.subscriptions import Revision, ToCheck
from bot.topics import Catalogue

log = logging.getLogger(__name__)

SHOWN_CHARS = 80


async def check_keyword_subscriptions(
    db: Database,
    *,
    catalogue: Catalogue,
    admin_ids: Sequence[int] = (),
    default_language: str = "en",
) -> int:
    """Settle every listed subscription; how many were changed or removed."""
    waiting = await subscriptions.to_check(db)
    if not waiting:
        return 0
    admin_languages = await feeds.chat_languages(db, list(admin_ids)) if admin_ids else {}
    changed = 0
    for _, group in groupby(waiting, key=lambda item: item.target_id):
        items = list(group)
        revisions, told = [], []
        for item in items:
            within = within_prefix_rules(item.value)
            revised = None if within is None else normal_query(catalogue, within)
            if revised != item.value:
                revisions.append(Revision(item.id, revised))
                if within != item.value:
                    told.append(Revision(item.id, revised))
        notices = _notices(items, told, admin_ids, admin_languages, default_language)
        if await subscriptions.settle_checks(db, [item.id for item in items], revisions, notices):
            changed += len(revisions)
    if changed:
        log.info("%d keyword subscriptions brought within the query rules or normalised", changed)
    return changed


def _notices(
    items: list[ToCheck],
    revisions: list[Revision],
    admin_ids: Sequence[int],
    admin_languages: dict[int, str],
    default_language: str,
) -> list[NewMessage]:
    target = items[0]
    if not revisions or not target.active:
        return []
    values = {item.id: item.value for item in items}
    if target.chat_type != "channel":
        text = _text(target.ui_language, revisions, values, channel=None)
        return [
            NewMessage.text(
                target.chat_id,
                part,
                kind="notice",
                thread_id=target.thread_id,
                target_id=target.target_id,
            )
            for part in text
        ]
    channel = target.chat_title or str(target.chat_id)
    return [
        NewMessage.text(admin, part, kind="notice")
        for admin in admin_ids
        for part in _text(
            admin_languages.get(admin, default_language), revisions, values, channel=channel
        )
    ]


def _text(
    language: str, revisions: list[Revision], values: dict[int, str], *, channel: str | None
) -> list[str]:
    def shown(text: str) -> str:
        return escape(truncate(text, SHOWN_CHARS))

    rules = {"letters": MIN_PREFIX_CHARS, "limit": MAX_PREFIXES}
    if channel is None:
        header = t(language, "subs.rules_header", **rules)
    else:
        header = t(language, "subs.rules_header_channel", channel=shown(channel), **rules)
    lines = [
        t(language, "subs.rules_removed", old=shown(values[r.subscription_id]))
        if r.value is None
        else t(
            language,
            "subs.rules_changed",
            old=shown(values[r.subscription_id]),
            new=shown(r.value),
        )
        for r in revisions
    ]
    return pack(lines, header=header, separator="\n")
