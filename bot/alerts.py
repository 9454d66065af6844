"""Unexpected failures told to the bot's admins, a kind at a time.

A handler or job that raises is logged, but an operator reads logs after the
fact; the admins hear of it in Telegram. A failure that repeats (every update
touching a broken table fails alike) must not become a message per update: a
kind of failure (where it happened and the exception's type) is told at most
once per `NOTICE_INTERVAL`, and the next notice says how many there were since.
The notice is queued in the outbox as kind "notice", like a failing feed's, so
it takes the same way out as everything else the bot sends.

The throttle lives in memory on the services object: a restart forgets it, so a
failure that persists across a restart is told once more. It keeps no user data:
the place is a handler's or job's name, the error its type and message.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING

from bot.formatting import truncate
from bot.i18n import t
from bot.store import feeds, outbox
from bot.store.outbox import NewMessage

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

NOTICE_INTERVAL = 600.0
KINDS_KEPT = 1_000
ERROR_CHARS = 300


@dataclass(frozen=True)
class Alert:
    """One notice to send: `count` failures of this kind since the last notice
    (this one included), the last at `at` with `error`."""

    place: str
    error: str
    count: int
    at: float


@dataclass
class _Seen:
    noticed_at: float | None = None
    untold: int = 0


def describe_error(error: BaseException) -> str:
    """`Type: message`, cut short: enough to tell failures apart in a chat."""
    message = str(error).strip()
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return truncate(text, ERROR_CHARS)


class ErrorAlerts:
    """Which failures to tell now. Kinds are kept in the order last seen, at most
    `kept` of them (forgetting one only means its next failure is told at once)."""

    def __init__(self, interval: float = NOTICE_INTERVAL, kept: int = KINDS_KEPT) -> None:
        self.interval = interval
        self.kept = kept
        self._seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()

    def record(self, place: str, error: BaseException, now: float) -> Alert | None:
        """Count a failure at `place`; the alert to send now, or None while this
        kind was told less than `interval` seconds ago."""
        key = (place, type(error).__qualname__)
        seen = self._seen.pop(key, None) or _Seen()
        self._seen[key] = seen
        while len(self._seen) > self.kept:
            self._seen.popitem(last=False)
        seen.untold += 1
        if seen.noticed_at is not None and now - seen.noticed_at < self.interval:
            return None
        count, seen.untold, seen.noticed_at = seen.untold, 0, now
        return Alert(place, describe_error(error), count, now)


def notice_text(alert: Alert, language: str, interval: float = NOTICE_INTERVAL) -> str:
    when = datetime.fromtimestamp(alert.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return t(
        language,
        "admin.error_notice",
        count=alert.count,
        place=escape(alert.place),
        when=when,
        error=escape(alert.error),
        minutes=max(1, round(interval / 60)),
    )


async def report_failure(services: Services, place: str, error: BaseException) -> None:
    """Tell the admins of an unexpected failure at `place`, unless this kind was
    told recently. Never raises: it runs where something already went wrong (the
    database may be what failed), so its own failure is only logged."""
    admins = services.settings.admin_ids
    if not admins:
        return
    alerts = services.alerts
    alert = alerts.record(place, error, services.clock())
    if alert is None:
        return
    try:
        languages = await feeds.chat_languages(services.db, admins)
        default = services.settings.default_language
        messages = [
            NewMessage.text(
                admin,
                notice_text(alert, languages.get(admin, default), alerts.interval),
                kind="notice",
                link_preview_options={"is_disabled": True},
            )
            for admin in admins
        ]
        await outbox.enqueue(services.db, messages, now=alert.at)
    except Exception:
        log.exception("could not queue the admins' notice of a failure in %s", place)
        return
    services.wake_sender()
