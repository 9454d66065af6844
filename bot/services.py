"""What handlers and jobs share: the settings, the store, the topic catalogue,
the clock and a way to wake the sender, in one object.

It lives below every feature, so digests, ingest and the admin side take it
without importing the Telegram adapter that puts it in `bot_data`
(`bot.telegram.services`). Tests move time by replacing `clock`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.alerts import ErrorAlerts
from bot.config import Settings
from bot.store.db import Database
from bot.store.leader import (
    Leadership,
    Notices,
    SoleLeadership,
    leadership_for,
    notices_for,
)
from bot.topics import Catalogue

log = logging.getLogger(__name__)

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
    lifespan makes it listen here for as long as it runs.

    Only the leader runs a sender (`bot.store.leader`). A ring rings this process's
    listeners, and on a follower it also sends a notice on `CHANNEL`, which the
    leader's sender hears (`listen_everywhere`). On SQLite the one bot always
    leads: a ring stays in the process, as it always did."""

    CHANNEL = "outbox"

    def __init__(
        self, leadership: Leadership | None = None, notices: Notices | None = None
    ) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._leadership = leadership or SoleLeadership()
        self._notices = None if self._leadership.sole else notices
        self._sending: asyncio.Task[None] | None = None
        self._again = False

    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` on every ring in this process; returns what stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def listen_everywhere(
        self, listener: Callable[[], None]
    ) -> Callable[[], Awaitable[None]]:
        """Call `listener` on every ring, in this process and, on a shared store, in
        the others (the leader's sender); returns what stops it."""
        here = self.listen(listener)
        if self._notices is None:

            async def stop_here() -> None:
                here()

            return stop_here
        there = await self._notices.listen(self.CHANNEL, lambda _payload: listener())

        async def stop() -> None:
            here()
            await there()

        return stop

    def ring(self) -> None:
        for listener in list(self._listeners):
            listener()
        if self._notices is not None and not self._leadership.leading:
            self._send_notice()

    def _send_notice(self) -> None:
        """One notice on its way at a time; rings meanwhile send one more after it, as
        their rows may have been committed after it was (its listener may look too soon)."""
        if self._sending is not None and not self._sending.done():
            self._again = True
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop, no bot to wake
        self._sending = loop.create_task(self._notify(), name="doorbell-notice")

    async def _notify(self) -> None:
        assert self._notices is not None
        self._again = True
        while self._again:
            self._again = False
            try:
                await self._notices.notify(self.CHANNEL)
            except Exception as exc:
                # The leader's sender also looks every few seconds on its own.
                log.debug("the outbox notice was not sent: %s", exc)
                return


@dataclass
class Services:
    settings: Settings
    db: Database
    catalogue: Catalogue
    clock: Callable[[], float] = time.time
    run_jobs: bool = True  # tests drive the jobs themselves, with their own clock
    rights: RightsCache = field(default_factory=RightsCache)
    instant_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One instant run at a time (`bot.digest.instant`)."""
    alerts: ErrorAlerts = field(default_factory=ErrorAlerts)
    """Which unexpected failures the admins were told of lately (`bot.alerts`)."""
    leadership: Leadership = field(init=False, repr=False)
    """Whether this bot leads the bots on its store (`bot.store.leader`): the
    lifespan starts it; only the leader runs the sender and the jobs."""
    notices: Notices = field(init=False, repr=False)
    """The store's LISTEN/NOTIFY, between the bots on one PostgreSQL store."""
    doorbell: Doorbell = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.leadership = leadership_for(self.db.location)
        self.notices = notices_for(self.db)
        self.doorbell = Doorbell(self.leadership, self.notices)

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
        """New outbox rows: the sender, if one runs, looks now (the leader's, when
        this bot follows)."""
        self.doorbell.ring()
