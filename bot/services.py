"""What handlers and jobs share: the settings, the store, the topic catalogue,
the clock and a way to wake the sender, in one object.

It lives below every feature, so digests, ingest and the admin side take it
without importing the Telegram adapter that puts it in `bot_data`
(`bot.telegram.services`). Tests move time by replacing `clock`.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.alerts import ErrorAlerts
from bot.config import Settings
from bot.store.db import Database
from bot.topics import Catalogue

RIGHTS_SECONDS = 60.0
RIGHTS_KEPT = 10_000


class RightsCache:
    """Whether a user may configure a chat, as Telegram last said (getChatMember).

    Anyone who can see a group's or channel's message can press its buttons, and
    each press needs the answer: kept for `ttl` seconds, a reader pressing again
    and again costs one request a minute, not one a press. A demoted admin keeps
    their rights as long at most. At most `size` answers are kept, the oldest
    dropped first (all live equally long, so insertion order is expiry order).
    """

    def __init__(self, ttl: float = RIGHTS_SECONDS, size: int = RIGHTS_KEPT) -> None:
        self.ttl = ttl
        self.size = size
        self._answers: OrderedDict[tuple[int, int], tuple[float, bool]] = OrderedDict()

    def get(self, chat_id: int, user_id: int, now: float) -> bool | None:
        """The answer still fresh at `now`, or None: ask Telegram."""
        found = self._answers.get((chat_id, user_id))
        if found is None:
            return None
        expires, may = found
        if now >= expires:
            del self._answers[(chat_id, user_id)]
            return None
        return may

    def put(self, chat_id: int, user_id: int, may: bool, now: float) -> None:
        key = (chat_id, user_id)
        self._answers.pop(key, None)
        self._answers[key] = (now + self.ttl, may)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)


class Doorbell:
    """How whatever queues outbox rows tells the sender to look now.

    The services exist before the bot does (tests build them, with their own
    clock, before the Application), and the sender only once the bot can make
    requests: rather than filling the sender into the services later, the
    lifespan makes it listen here for as long as it runs."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on every ring; returns what stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def ring(self) -> None:
        for listener in list(self._listeners):
            listener()


@dataclass
class Services:
    settings: Settings
    db: Database
    catalogue: Catalogue
    clock: Callable[[], float] = time.time
    run_jobs: bool = True  # tests drive the jobs themselves, with their own clock
    rights: RightsCache = field(default_factory=RightsCache)
    doorbell: Doorbell = field(default_factory=Doorbell)
    instant_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One instant run at a time (`bot.digest.instant`)."""
    alerts: ErrorAlerts = field(default_factory=ErrorAlerts)
    """Which unexpected failures the admins were told of lately (`bot.alerts`)."""

    def now(self) -> int:
        return int(self.clock())

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids

    @property
    def search_budget(self) -> float:
        """Seconds one reader's search may keep the database busy."""
        return self.settings.search_time_budget_ms / 1000

    def topic_names(self, language: str) -> dict[str, str]:
        return {topic.slug: topic.name(language) for topic in self.catalogue.topics}

    def wake_sender(self) -> None:
        """New outbox rows: the sender, if one runs, looks now."""
        self.doorbell.ring()
