"""Telegram's documented flood limits for message-sending methods.

Messages per second for the whole bot and messages per minute to one group,
supergroup or channel are sliding windows. A message sent with
`allow_paid_broadcast` counts against the paid window instead of the free one
(Telegram's paid broadcasts: up to 1,000 a second, for a fee), while one chat
and one group allow the same whether a message is paid or free. One chat gets "about one message a
second, short bursts allowed" (Telegram's FAQ, which names no burst size): a
token bucket of `per_chat_burst` messages refilled one per `per_chat_interval`
seconds; a burst of 1 is a strict interval. A small `slack` forgives loopback
jitter in one chat's and one group's limits: a timestamp leaves the group's
window `slack` seconds early, and the bucket refills `slack` seconds sooner.
The bot-wide windows get none: Telegram's "30 messages a second" is taken as
its most conservative reading, no more than 30 arrivals in any one second, so
what passes here passes there however Telegram buckets its seconds.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class FloodLimits:
    per_bot_per_second: int = 30
    paid_per_bot_per_second: int = 1000
    """Messages a second sent with `allow_paid_broadcast` (a budget of their own)."""
    per_chat_interval: float = 1.0
    per_chat_burst: int = 3
    per_group_per_minute: int = 20
    group_window: float = 60.0
    slack: float = 0.05


class Refusal(NamedTuple):
    retry_after: int
    """Whole seconds until the message would be admitted, at least 1."""
    limit: str
    """The limit that bit hardest: per_bot_per_second, paid_per_bot_per_second,
    per_chat_interval or per_group_per_minute."""


class FloodGate:
    """Admits or refuses one message; a refusal is the whole seconds to wait."""

    def __init__(
        self, limits: FloodLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or FloodLimits()
        self._clock = clock
        self._bot: deque[float] = deque()
        self._paid: deque[float] = deque()
        self._full_at: dict[int, float] = {}
        """Per chat, when its bucket would be full again (the generic cell rate
        algorithm's theoretical arrival time)."""
        self._by_group: dict[int, deque[float]] = {}

    def reset(self) -> None:
        self._bot.clear()
        self._paid.clear()
        self._full_at.clear()
        self._by_group.clear()

    def admit(self, chat_id: int, is_group: bool, *, paid: bool = False) -> Refusal | None:
        """Record the message and return None, or refuse without recording it.
        `paid`: sent with `allow_paid_broadcast`, so the paid window applies."""
        limits = self.limits
        now = self._clock()
        waits: list[tuple[float, str]] = []

        if paid:
            bot, most, name = self._paid, limits.paid_per_bot_per_second, "paid_per_bot_per_second"
        else:
            bot, most, name = self._bot, limits.per_bot_per_second, "per_bot_per_second"
        bot_window = 1.0
        while bot and now - bot[0] >= bot_window:
            bot.popleft()
        if len(bot) >= most:
            waits.append((bot[0] + bot_window - now, name))

        interval = max(0.0, limits.per_chat_interval - limits.slack)
        full_at = max(self._full_at.get(chat_id, now), now)
        ready = full_at - max(0, limits.per_chat_burst - 1) * interval
        if now < ready - 1e-9:  # a whole burst at one instant must not fail on rounding
            waits.append((ready - now, "per_chat_interval"))

        group: deque[float] | None = None
        if is_group:
            group = self._by_group.setdefault(chat_id, deque())
            group_window = limits.group_window - limits.slack
            while group and now - group[0] >= group_window:
                group.popleft()
            if len(group) >= limits.per_group_per_minute:
                waits.append((group[0] + group_window - now, "per_group_per_minute"))

        if waits:
            wait, limit = max(waits)
            return Refusal(max(1, math.ceil(wait)), limit)
        bot.append(now)
        self._full_at[chat_id] = full_at + interval
        if group is not None:
            group.append(now)
        return None
