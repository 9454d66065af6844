"""Telegram's documented flood limits for message-sending methods.

Three sliding windows: messages per second for the whole bot, the interval
between two messages to one chat, and messages per minute to one group,
supergroup or channel. A small `slack` forgives loopback jitter: a timestamp
leaves its window `slack` seconds early.
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
    per_chat_interval: float = 1.0
    per_group_per_minute: int = 20
    group_window: float = 60.0
    slack: float = 0.05


class Refusal(NamedTuple):
    retry_after: int
    """Whole seconds until the message would be admitted, at least 1."""
    limit: str
    """The limit that bit hardest: per_bot_per_second, per_chat_interval or
    per_group_per_minute."""


class FloodGate:
    """Admits or refuses one message; a refusal is the whole seconds to wait."""

    def __init__(
        self, limits: FloodLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or FloodLimits()
        self._clock = clock
        self._bot: deque[float] = deque()
        self._last_by_chat: dict[int, float] = {}
        self._by_group: dict[int, deque[float]] = {}

    def reset(self) -> None:
        self._bot.clear()
        self._last_by_chat.clear()
        self._by_group.clear()

    def admit(self, chat_id: int, is_group: bool) -> Refusal | None:
        """Record the message and return None, or refuse without recording it."""
        limits = self.limits
        now = self._clock()
        waits: list[tuple[float, str]] = []

        bot = self._bot
        bot_window = 1.0 - limits.slack
        while bot and now - bot[0] >= bot_window:
            bot.popleft()
        if len(bot) >= limits.per_bot_per_second:
            waits.append((bot[0] + bot_window - now, "per_bot_per_second"))

        last = self._last_by_chat.get(chat_id)
        interval = limits.per_chat_interval - limits.slack
        if last is not None and now - last < interval:
            waits.append((last + interval - now, "per_chat_interval"))

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
        self._last_by_chat[chat_id] = now
        if group is not None:
            group.append(now)
        return None
