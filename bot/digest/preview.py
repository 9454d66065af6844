"""A digest on request, and when the next one comes.

A new target's cursor starts at the newest article (`chats.create_target`),
so a new subscriber has nothing pending and would never see what a digest
looks like until the first scheduled one. /digest therefore sends what is
pending when there is something (it counts as delivered, as it always did),
and otherwise answers with a sample: the latest articles the target follows,
composed as its digest is, labelled as a sample, and without moving the cursor,
so the next digest still holds everything new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from bot.digest import schedule
from bot.digest.compose import DigestMessage, compose
from bot.digest.dispatch import MAX_BACKLOG, Window, send_pending_now
from bot.digest.select import Group, Selection
from bot.formatting import escape
from bot.i18n import day_and_time, t
from bot.services import Services
from bot.store import articles, digests
from bot.store.articles import Article
from bot.store.chats import Target
from bot.store.subscriptions import Subscription

SAMPLE_ITEMS: Final = 5
"""Articles in a sample: enough to show the shape of a digest, in one message."""


@dataclass(frozen=True)
class OnRequest:
    """What /digest did: `queued` messages of the pending digest went to the
    outbox, or `replies` (HTML) are the answer instead: a sample, or why there
    is none."""

    queued: int = 0
    replies: tuple[str, ...] = ()


async def digest_on_request(services: Services, target: Target, now: int) -> OnRequest:
    """/digest: the pending digest if there is one, else a sample of one.

    A target that follows nothing is told how to follow something, and its
    cursor stays: there is nothing a digest could have held."""
    language = target.ui_language
    subscriptions = (await digests.subscriptions_of(services.db, [target.id]))[target.id]
    if not subscriptions:
        return OnRequest(replies=(t(language, "digest.no_subscriptions"),))
    queued = await send_pending_now(services, target, now)
    if queued:
        return OnRequest(queued=queued)
    pages = await sample(services, target, subscriptions, now)
    replies = tuple(page.text for page in pages) or (t(language, "digest.nothing_yet"),)
    return OnRequest(replies=replies)


async def sample(
    services: Services, target: Target, subscriptions: Sequence[Subscription], now: int
) -> list[DigestMessage]:
    """The newest `SAMPLE_ITEMS` articles the target's digest would hold had
    they been new, under the "sample" heading and without a "show more"
    button. Only the newest `MAX_BACKLOG` articles are looked at, as a digest
    looks at no more; the cursor is not read or moved."""
    upto = await articles.newest_id(services.db)
    window = await Window.load(services.db, services.catalogue, upto - MAX_BACKLOG, upto)
    matches = await window.matches(sub.value for sub in subscriptions if sub.kind == "query")
    selection = window.select_for(target, subscriptions, matches)
    return compose(
        newest(selection, window.by_id, SAMPLE_ITEMS),
        window.by_id,
        language=target.ui_language,
        timezone=target.timezone,
        now=now,
        heading="sample",
        topic_names=services.topic_names(target.ui_language),
        max_items=SAMPLE_ITEMS,
        ref=None,
    )


def newest(selection: Selection, by_id: Mapping[int, Article], count: int) -> Selection:
    """The selection cut to its `count` newest articles (as a digest orders
    them: published, then id), each left in its group and the groups in order."""
    ranked = sorted(
        selection.article_ids,
        key=lambda article_id: (by_id[article_id].published_at, article_id),
        reverse=True,
    )
    kept = frozenset(ranked[:count])
    groups = (
        Group(group.topic, tuple(i for i in group.article_ids if i in kept), group.keywords)
        for group in selection.groups
    )
    return Selection(tuple(group for group in groups if group.article_ids))


def next_digest_at(target: Target, now: int) -> int | None:
    """When the target's next scheduled digest is due (UTC seconds); None for
    instant and off. A target the minute job has not scheduled yet (just
    created) gets the time it will be given."""
    if target.digest_mode not in schedule.SCHEDULED_MODES:
        return None
    if target.next_digest_at is not None:
        return target.next_digest_at
    return schedule.due_after(target, now)


def next_digest_text(target: Target, now: int) -> str:
    """One sentence (HTML) on when the next digest comes, in the target's zone
    and language: its day and time, or that instant and off have none."""
    language = target.ui_language
    if target.digest_mode == "instant":
        return t(language, "digest.next_instant")
    due = next_digest_at(target, now)
    if due is None:
        return t(language, "digest.next_off")
    if due <= now:  # the minute job sends it at its next turn
        return t(language, "digest.next_due")
    local = datetime.fromtimestamp(due, UTC).astimezone(schedule.zone(target.timezone))
    return t(
        language,
        "digest.next_scheduled",
        when=escape(day_and_time(local, language)),
        timezone=escape(target.timezone),
    )
