"""When a target's next digest is due, in UTC, from its local wall-clock settings.

The one place the rule "a schedule change recomputes next_digest_at" lives:
`due_after` is the pure answer for a target's settings, `open_target` makes a
target with its first time and `change_settings` is the only way a target's
schedule settings change, each writing the time in the same transaction as
what it follows from (the store refuses a schedule change without it).

A wall time is resolved with PEP 495 `fold=0`, which gives exactly the
rules people expect around daylight-saving changes: a time that does not exist
on the spring-forward day is pushed forward by the gap (02:30 → 03:30), and a
time that occurs twice on the fall-back day means its first occurrence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.store import chats
from bot.store.chats import SCHEDULE_COLUMNS, NewTarget, SeenChat, Target
from bot.store.db import Database

log = logging.getLogger(__name__)

SCHEDULED_MODES: Final = frozenset({"daily", "weekly"})
MINUTES_PER_DAY: Final = 24 * 60
# A weekly time exists at least once in any 8 consecutive local dates; the
# extra days cover a calendar day a zone skipped (Pacific/Apia, 2011-12-30).
_SEARCH_DAYS: Final = 16


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone, or UTC for a name this system does not know: a bad setting
    must still give the target digests rather than stop them."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown timezone %r, using UTC", name)
        return ZoneInfo("UTC")


def local_instant(day: date, minute: int, timezone: str) -> int:
    """UTC seconds of `minute` after local midnight on `day` (fold=0 rules above)."""
    hour, rest = divmod(minute, 60)
    wall = datetime(day.year, day.month, day.day, hour, rest, tzinfo=zone(timezone), fold=0)
    return int(wall.timestamp())


@lru_cache(maxsize=4096)
def next_digest_at(
    mode: str, minute: int, weekday: int, timezone: str, *, after: int
) -> int | None:
    """The first digest time strictly after `after` (UTC seconds); None for
    'instant' and 'off', which have no schedule.

    Kept per arguments: a run reschedules every due target at the same `after`,
    and targets share a few times and zones, so each distinct one is computed
    once instead of walking the calendar per target."""
    if mode not in SCHEDULED_MODES:
        return None
    if not 0 <= minute < MINUTES_PER_DAY:
        raise ValueError(f"digest minute out of range: {minute}")
    if mode == "weekly" and not 0 <= weekday <= 6:
        raise ValueError(f"weekday out of range: {weekday}")
    # Start a day early: a wall time late on the previous local date can fall
    # after `after` when a transition pushes it forward.
    today = datetime.fromtimestamp(after, UTC).astimezone(zone(timezone)).date()
    for offset in range(-1, _SEARCH_DAYS):
        day = today + timedelta(days=offset)
        if mode == "weekly" and day.weekday() != weekday:
            continue
        moment = local_instant(day, minute, timezone)
        if moment > after:
            return moment
    raise AssertionError("no digest time found in two weeks")  # pragma: no cover


def local_date(moment: int, timezone: str) -> date:
    """The calendar date in the target's zone at a UTC instant."""
    return datetime.fromtimestamp(moment, UTC).astimezone(zone(timezone)).date()


def due_after(target: Target, now: int) -> int | None:
    """The next digest time strictly after `now` for the target's settings as
    they stand; None for instant and off."""
    return next_digest_at(
        target.digest_mode,
        target.digest_minute,
        target.digest_weekday,
        target.timezone,
        after=now,
    )


async def change_settings(
    db: Database, target: Target, changes: Mapping[str, str | int | None], now: int
) -> Target:
    """Store some of a target's settings (`chats.SETTING_COLUMNS`); when one of
    them is a schedule setting, with the next digest time they give, in the
    same write. A bad value (minute or weekday out of range) raises ValueError
    before anything is written."""
    if not SCHEDULE_COLUMNS & changes.keys():
        return await chats.update_target(db, target.id, **changes)
    due = due_after(replace(target, **changes), now)  # type: ignore[arg-type]
    return await chats.update_target(db, target.id, **changes, next_digest_at=due)


async def open_target(
    db: Database, new: NewTarget, now: int, *, chat: SeenChat | None = None
) -> Target:
    """The target of a chat (or forum topic) the bot meets for the first time,
    with the chat's record when given and its first digest time: one
    transaction, so a failure leaves no chat without its target and no target
    without its schedule. A target that exists already is returned as it is."""
    due = next_digest_at(
        new.digest_mode, new.digest_minute, new.digest_weekday, new.timezone, after=now
    )
    return await chats.create_target(db, new, next_digest_at=due, now=now, chat=chat)
