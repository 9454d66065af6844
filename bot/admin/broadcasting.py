"""Broadcasts without Telegram: draft, confirm, cancel, and the progress report.

The handlers turn a message into a draft and show the preview; everything
after that lives in the store, so the progress report is a pure function of
the tables and resumes after a restart by itself: each run of the progress
job looks at every confirmed broadcast whose final summary is not shown yet.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.admin.audience import Audience, describe
from bot.admin.progress import (
    RateMeter,
    finished,
    progress_text,
    stars_estimate,
    summary_text,
)
from bot.store import broadcasts, chats, outbox
from bot.store.broadcasts import Broadcast, Recipients
from bot.store.db import Database
from bot.store.outbox import BroadcastProgress
from bot.topics import Catalogue

log = logging.getLogger(__name__)

Show = Callable[[Broadcast, str, bool, str], Awaitable[bool]]
"""Put a report on the admin's progress message: (broadcast, HTML, final, the
admin's language) → whether it is shown."""


@dataclass(frozen=True)
class Option:
    """One way to send a draft, as the confirm button offers it."""

    seconds: float
    """About how long sending it takes: the recipients over the budget's rate."""
    stars: int = 0
    """What it may cost (a paid broadcast), in whole Stars rounded up."""


@dataclass(frozen=True)
class Draft:
    broadcast: Broadcast
    size: int
    free: Option
    paid: Option | None = None
    """None: paid broadcasts are off (`PAID_BROADCAST_RATE` is 0)."""


def options(size: int, *, free_rate: float, paid_rate: float) -> tuple[Option, Option | None]:
    """The free and the paid way to send to `size` chats (one message each, so only the
    bot-wide budget paces it), at the free rate and the paid one (0: none)."""
    free = Option(size / free_rate)
    if paid_rate <= 0:
        return free, None
    return free, Option(size / paid_rate, stars_estimate(size))


def recipients(audience: Audience) -> Recipients:
    return Recipients(audience.topics, audience.language)


def topic_names(catalogue: Catalogue, language: str) -> dict[str, str]:
    return {topic.slug: topic.name(language) for topic in catalogue.topics}


async def draft(
    db: Database,
    audience: Audience,
    *,
    admin_id: int,
    admin_chat_id: int,
    method: str,
    params: Mapping[str, Any],
    now: int,
    free_rate: float,
    paid_rate: float = 0,
) -> Draft | None:
    """A draft for the audience, its current size and the ways to send it (at
    `free_rate`, and at `paid_rate` on the paid budget); None when nobody is in it."""
    size = await broadcasts.count_recipients(db, recipients(audience))
    if size == 0:
        return None
    stored = await broadcasts.create_draft(
        db,
        admin_id=admin_id,
        admin_chat_id=admin_chat_id,
        audience=audience.key(),
        method=method,
        params=params,
        now=now,
    )
    free, paid = options(size, free_rate=free_rate, paid_rate=paid_rate)
    return Draft(stored, size, free, paid)


async def confirm(
    db: Database, broadcast: Broadcast, *, admin_id: int, now: int, paid: bool = False
) -> int | None:
    """Queue the broadcast for its audience as it is now, `paid` or free; None if it was
    not a draft."""
    audience = Audience.from_key(broadcast.audience)
    return await broadcasts.confirm(
        db, broadcast.id, recipients(audience), admin_id=admin_id, now=now, paid=paid
    )


async def first_report(
    db: Database, draft: Broadcast, count: int, *, language: str, audience: str, paid: bool
) -> str:
    """The progress text a just-confirmed broadcast shows, recorded as shown before it
    is: the progress job may run as soon as the message shows it, on this bot or the
    leader, and must not send the same text again (Telegram refuses the edit)."""
    text = progress_text(
        language, draft.id, audience, BroadcastProgress(remaining=count), rate=None, paid=paid
    )
    await broadcasts.set_progress_shown(db, draft.id, text)
    return text


async def cancel(
    db: Database, broadcast_id: int | None, *, admin_id: int, now: int
) -> tuple[Broadcast, int] | None:
    """Stop a broadcast (the newest one being sent when no id is given).
    Returns it and how many copies will not go, or None if there was none to stop."""
    if broadcast_id is None:
        going = await broadcasts.sending(db)
        if not going:
            return None
        found: Broadcast | None = going[0]
    else:
        found = await broadcasts.get(db, broadcast_id)
    if found is None or found.state not in ("draft", "sending"):
        return None
    return found, await broadcasts.cancel(db, found.id, admin_id=admin_id, now=now)


async def admin_language(db: Database, chat_id: int, default: str) -> str:
    target = await chats.get_target(db, chat_id)
    return target.ui_language if target is not None else default


async def report_progress(
    db: Database,
    catalogue: Catalogue,
    *,
    now: float,
    meter: RateMeter,
    show: Show,
    default_language: str,
) -> int:
    """Update every unfinished report once; returns how many were looked at.
    A broadcast whose copies all ended is marked done here."""
    pending = await broadcasts.unreported(db)
    for broadcast in pending:
        try:
            await _report(db, catalogue, broadcast, now, meter, show, default_language)
        except Exception:
            log.exception("broadcast %d: could not report progress", broadcast.id)
    return len(pending)


async def _report(
    db: Database,
    catalogue: Catalogue,
    broadcast: Broadcast,
    now: float,
    meter: RateMeter,
    show: Show,
    default_language: str,
) -> None:
    progress = await outbox.broadcast_progress(db, broadcast.id)
    state, ended_at = broadcast.state, broadcast.finished_at
    if state == "sending" and progress.done:
        await broadcasts.finish(db, broadcast.id, now=int(now))
        state, ended_at = "done", int(now)
    language = await admin_language(db, broadcast.admin_chat_id, default_language)
    audience = describe(
        Audience.from_key(broadcast.audience), language, topic_names(catalogue, language)
    )
    final = state in ("done", "cancelled") and progress.done
    if final:
        started = broadcast.confirmed_at or now
        text = summary_text(
            language,
            broadcast.id,
            audience,
            progress,
            elapsed=(ended_at or now) - started,
            cancelled=state == "cancelled",
            paid=broadcast.paid,
            paused=broadcast.paused_seconds,
        )
    else:
        rate = meter.observe(broadcast.id, now, finished(progress))
        text = progress_text(
            language, broadcast.id, audience, progress, rate=rate, paid=broadcast.paid
        )
    if not final and text == broadcast.progress_shown:
        return  # Telegram refuses an edit that changes nothing
    if not await show(broadcast, text, final, language):
        return
    if final:
        await broadcasts.mark_reported(db, broadcast.id, now=int(now))
        meter.forget(broadcast.id)
    else:
        await broadcasts.set_progress_shown(db, broadcast.id, text)
