"""A broadcast's progress as the admin sees it: counts, rate, time left.

The rate is measured over the last `window` seconds of samples rather than
since the start, so it follows the sender as it speeds up or waits out a
flood limit, and a restart does not count the downtime.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from bot.i18n import t
from bot.store.outbox import BroadcastProgress

WINDOW = 30.0
STARS_PER_PAID_MESSAGE = Decimal("0.1")
"""Telegram's fee for a message sent with `allow_paid_broadcast`."""


@dataclass
class RateMeter:
    """Messages finished per second, per broadcast, from periodic samples."""

    window: float = WINDOW
    _samples: dict[int, deque[tuple[float, int]]] = field(default_factory=dict)

    def observe(self, broadcast_id: int, now: float, finished: int) -> float | None:
        """Add a sample; the rate over the window, or None until two samples span time."""
        samples = self._samples.setdefault(broadcast_id, deque())
        samples.append((now, finished))
        while len(samples) > 2 and now - samples[1][0] >= self.window:
            samples.popleft()
        first_at, first_done = samples[0]
        if now - first_at <= 0:
            return None
        return max(0.0, (finished - first_done) / (now - first_at))

    def forget(self, broadcast_id: int) -> None:
        self._samples.pop(broadcast_id, None)


def finished(progress: BroadcastProgress) -> int:
    """Copies that reached a final state (cancelled ones were never attempted)."""
    return progress.sent + progress.dropped + progress.failed


def stars_spent(messages: int) -> Decimal:
    """What `messages` paid messages cost, exactly (0.1 Star each)."""
    return messages * STARS_PER_PAID_MESSAGE


def stars_estimate(messages: int) -> int:
    """What a paid broadcast to `messages` chats may cost, in whole Stars (rounded up:
    an estimate shown before confirming must not understate the bill)."""
    return -(-messages // 10)


def eta_seconds(remaining: int, rate: float | None) -> float | None:
    if remaining == 0:
        return 0.0
    if not rate:
        return None
    return remaining / rate


def duration(seconds: float) -> str:
    """'45 s', '3 min 05 s', '2 h 07 min': the same in English and Spanish."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def number(value: int, language: str) -> str:
    return decimal(value, language)


def decimal(value: float | Decimal, language: str) -> str:
    """In the reader's language ('1,234.5' / '1234,5'); babel is imported on first use,
    as an idle bot does not need it."""
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=language))


def progress_text(
    language: str,
    broadcast_id: int,
    audience: str,
    progress: BroadcastProgress,
    *,
    rate: float | None,
    paid: bool = False,
) -> str:
    """The live message: counts so far, the rate and the time left; for a `paid`
    broadcast, the Stars spent so far."""
    eta = eta_seconds(progress.remaining, rate)
    pace = (
        t(
            language,
            "admin.progress_rate",
            rate=decimal(round(rate, 1), language),
            eta=duration(eta),
        )
        if rate and eta is not None
        else t(language, "admin.progress_measuring")
    )
    return t(
        language,
        "admin.progress",
        id=broadcast_id,
        audience=audience,
        sent=number(progress.sent, language),
        blocked=number(progress.dropped, language),
        failed=number(progress.failed, language),
        remaining=number(progress.remaining, language),
        total=number(progress.total, language),
        pace=pace,
    ) + _spend(language, "admin.progress_spend", progress, paid)


def _spend(language: str, key: str, progress: BroadcastProgress, paid: bool) -> str:
    """The Stars line of a paid broadcast's report ('' for a free one): the messages
    Telegram accepted so far, 0.1 Star each."""
    if not paid:
        return ""
    return "\n" + t(language, key, stars=decimal(stars_spent(progress.sent), language))


def summary_text(
    language: str,
    broadcast_id: int,
    audience: str,
    progress: BroadcastProgress,
    *,
    elapsed: float,
    cancelled: bool,
    paid: bool = False,
    paused: float = 0.0,
) -> str:
    """The final word once nothing is left to send: for a `paid` broadcast what it
    cost, and how long Telegram `paused` it (429s), if it did."""
    key = "admin.summary_cancelled" if cancelled else "admin.summary_done"
    pause = (
        "\n" + t(language, "admin.summary_paused", duration=duration(paused)) if paused > 0 else ""
    )
    return (
        t(
            language,
            key,
            id=broadcast_id,
            audience=audience,
            sent=number(progress.sent, language),
            blocked=number(progress.dropped, language),
            failed=number(progress.failed, language),
            cancelled=number(progress.cancelled, language),
            total=number(progress.total, language),
            elapsed=duration(elapsed),
        )
        + _spend(language, "admin.summary_spend", progress, paid)
        + pause
    )
