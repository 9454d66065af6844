"""Admission of updates: one chat's flood cannot hold the other chats back.

PTB handles up to `concurrent_updates` updates at once, and a handler's reply
waits for its chat's turn in the rate limiter while holding one of those
slots: one user sending 45 /help once held all 32, and another user's /help
waited 13.8 s behind them. So each update is decided the moment it arrives,
per *lane* (a chat, or one user's inline queries):

* a lane with nothing in flight runs the update at once;
* a lane with an update in flight queues it (first in, first out, up to
  `queue_size`); the update in flight, once handled, runs the next one itself.
  A lane therefore holds at most one slot however much it sends, and a chat's
  updates are handled in the order they were sent: three commands in a row
  are three answers in that order;
* past the queue the update is dropped (its coroutine closed, never run). The
  chat is told to slow down at most once a `notice_interval`, by its own lane
  once the update in flight is done, as an ordinary reply under the chat's
  limits; a pressed button that is dropped gets the same words as its
  callback answer, so its spinner stops (one unmetered request per press, no
  database work, bounded by the concurrency slots like everything else);
* inline queries, per user: one in flight and only the newest waiting. A
  client sends a query per keystroke and shows only the latest answer, so a
  query that a newer one replaces is dropped without an answer.

Waiting in `do_process_update` would still occupy one of PTB's slots (its
`process_update` holds the semaphore around it), which is why nothing waits
there: a queued update returns at once and frees its slot.

Only a person's requests are admitted this way: messages in private chats,
commands anywhere, button presses, inline queries. Everything else (the
chatter of a group where the bot is an administrator and sees every message,
membership changes, migrations) passes straight through: it costs next to
nothing and must never fill a group's queue or be dropped.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, Generic, TypeVar

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

import bot.metrics as metrics
from bot.i18n import DEFAULT_LANGUAGE, language_of, t

log = logging.getLogger(__name__)

QUEUE_SIZE: Final = 8
"""Updates a chat may have waiting behind the one in flight: comfortably more than
a person sends at human speed (a few commands in a row, a forwarded batch)."""
NOTICE_INTERVAL: Final = 60.0  # s: at most one "slow down" a chat gets in this time
CONCURRENT_UPDATES: Final = 32

T = TypeVar("T")


class Verdict(Enum):
    RUN = "run"  # nothing in flight in the lane: run it now (the caller serves the lane)
    QUEUED = "queued"  # the lane's update in flight will run it
    DROPPED = "dropped"


@dataclass(frozen=True)
class Decision(Generic[T]):
    verdict: Verdict
    dropped: T | None = None
    """The item refused, or displaced from the queue by a newer one: close it."""


@dataclass
class _Lane(Generic[T]):
    queue: deque[T] = field(default_factory=deque)
    notice: T | None = None  # a dropped item to tell the lane about, once its turn comes


class Lanes(Generic[T]):
    """Who runs, who waits, who is dropped: the admission policy, with no Telegram in it.

    Time is a parameter (`now`, any monotonic clock in seconds). A lane exists only
    while it has an item in flight, so the lanes are bounded by the items in flight;
    the times of recent notices are kept for `notice_interval`, then forgotten.
    """

    def __init__(
        self, queue_size: int = QUEUE_SIZE, notice_interval: float = NOTICE_INTERVAL
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        self.notice_interval = notice_interval
        self._lanes: dict[Hashable, _Lane[T]] = {}
        self._noticed: dict[Hashable, float] = {}  # in the order given, so oldest first

    def __len__(self) -> int:
        """Lanes with an item in flight."""
        return len(self._lanes)

    def waiting(self, key: Hashable) -> int:
        lane = self._lanes.get(key)
        return 0 if lane is None else len(lane.queue)

    def admit(
        self,
        key: Hashable,
        item: T,
        now: float,
        *,
        newest_only: bool = False,
        notice: bool = True,
    ) -> Decision[T]:
        """Decide at once what happens to `item` of lane `key`.

        `newest_only`: the lane keeps just one item waiting, the newest, and drops the
        one it replaces without a notice (inline queries). `notice`: whether dropping
        this item may earn the lane a notice (False when it is answered otherwise).
        """
        lane = self._lanes.get(key)
        if lane is None:
            self._lanes[key] = _Lane()
            return Decision(Verdict.RUN)
        if newest_only:
            displaced = lane.queue.popleft() if lane.queue else None
            lane.queue.append(item)
            return Decision(Verdict.QUEUED, displaced)
        if len(lane.queue) < self.queue_size:
            lane.queue.append(item)
            return Decision(Verdict.QUEUED)
        if notice and lane.notice is None and self._may_notice(key, now):
            lane.notice = item
        return Decision(Verdict.DROPPED, item)

    def next(self, key: Hashable) -> tuple[T | None, T | None]:
        """The lane's item in flight is done: (the next item to run or None, a dropped
        item to tell the lane about or None). A lane with nothing left is forgotten."""
        lane = self._lanes[key]
        notice, lane.notice = lane.notice, None
        if lane.queue:
            return lane.queue.popleft(), notice
        del self._lanes[key]
        return None, notice

    def abandon(self, key: Hashable) -> list[T]:
        """Forget a lane whose server stopped: the items that will never run."""
        lane = self._lanes.pop(key, None)
        return [] if lane is None else list(lane.queue)

    def _may_notice(self, key: Hashable, now: float) -> bool:
        noticed = self._noticed
        horizon = now - self.notice_interval
        while noticed:
            oldest = next(iter(noticed))
            if noticed[oldest] > horizon:
                break
            del noticed[oldest]
        if key in noticed:
            return False
        noticed[key] = now
        return True


Work = tuple[Update, Awaitable[Any], float]
"""An update, its handling, and when it arrived (the reply latency counts from then)."""


def lane_of(update: object) -> tuple[Hashable, bool] | None:
    """The lane an update is admitted in and whether it keeps only the newest, or None
    when it is not a person's request and passes straight through."""
    if not isinstance(update, Update):
        return None
    if update.inline_query is not None:
        return ("inline", update.inline_query.from_user.id), True
    query = update.callback_query
    if query is not None:
        if query.message is not None:
            return ("chat", query.message.chat.id), False
        return ("user", query.from_user.id), False
    message = update.message or update.edited_message
    message = message or update.channel_post or update.edited_channel_post
    if message is None or not _is_request(message):
        return None
    return ("chat", message.chat.id), False


def update_type(update: object) -> str:
    """The update's type as a metric's label: one of `metrics.UPDATE_TYPES`, or "other"."""
    if isinstance(update, Update):
        for name in metrics.UPDATE_TYPES:
            if getattr(update, name, None) is not None:
                return name
    return "other"


def _is_request(message: Message) -> bool:
    text = message.text or message.caption or ""
    return message.chat.type == ChatType.PRIVATE or text.startswith("/")


def _close(work: Awaitable[Any]) -> None:
    """A coroutine that will never run is closed, so Python does not warn that it was
    never awaited."""
    if inspect.iscoroutine(work):
        work.close()


class AdmissionProcessor(BaseUpdateProcessor):
    """PTB's update processor with per-lane admission (see the module docstring).

    `clock` is replaceable (tests move time instead of sleeping); `dropped` and
    `notices` count what was refused and how often a chat was told.
    """

    def __init__(
        self,
        max_concurrent_updates: int = CONCURRENT_UPDATES,
        *,
        queue_size: int = QUEUE_SIZE,
        notice_interval: float = NOTICE_INTERVAL,
        default_language: str = DEFAULT_LANGUAGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.lanes: Lanes[Work] = Lanes(queue_size, notice_interval)
        self.default_language = default_language
        self.clock = clock
        self.dropped = 0
        self.notices = 0

    async def initialize(self) -> None:
        """Nothing to set up: lanes are made as updates come."""

    async def shutdown(self) -> None:
        """Nothing to free: each lane is served to its end by its own update's task,
        which the Application waits for when it stops."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        arrived = time.monotonic()
        kind = update_type(update)
        metrics.UPDATES_RECEIVED.labels(kind).inc()
        lane = lane_of(update)
        if lane is None:
            await self._handle(kind, coroutine, arrived)
            return
        assert isinstance(update, Update)
        key, newest_only = lane
        pressed = update.callback_query is not None
        decision = self.lanes.admit(
            key,
            (update, coroutine, arrived),
            self.clock(),
            newest_only=newest_only,
            notice=not pressed,
        )
        if decision.dropped is not None:
            dropped, work, _ = decision.dropped
            _close(work)
            self.dropped += 1
            metrics.UPDATES_HANDLED.labels(update_type(dropped), "dropped").inc()
            chat = dropped.effective_chat
            # DEBUG: a flood drops thousands; the counters above are what to watch.
            log.debug(
                "update %d dropped: its lane is full",
                dropped.update_id,
                extra={
                    "update_type": update_type(dropped),
                    "chat_kind": chat.type if chat else None,
                    "chat_id": chat.id if chat else None,
                },
            )
            if pressed and decision.verdict is Verdict.DROPPED:
                await self._answer_button(dropped)
        if decision.verdict is Verdict.RUN:
            await self._serve(key, update, coroutine, arrived)

    async def _serve(
        self, key: Hashable, update: Update, coroutine: Awaitable[Any], arrived: float
    ) -> None:
        """Run the lane's updates one after another until its queue is empty."""
        current: Awaitable[Any] | None = coroutine
        try:
            while current is not None:
                try:
                    await self._handle(update_type(update), current, arrived)
                except Exception:
                    log.exception("handling update %s failed", update.update_id)
                upcoming, notice = self.lanes.next(key)
                current = None
                if notice is not None:
                    await self._tell_slow_down(notice[0])
                if upcoming is not None:
                    update, current, arrived = upcoming
        except BaseException:
            # Cancelled (the loop is closing): what waits in the lane will never run.
            if current is not None:
                _close(current)
            for _, work, _ in self.lanes.abandon(key):
                _close(work)
            raise

    @staticmethod
    async def _handle(kind: str, work: Awaitable[Any], arrived: float) -> None:
        """Run one update's handling with its reply clock set, and count how it ended.

        The clock is the update's arrival (monotonic), so a queued update's latency
        includes its wait behind the chat's earlier requests, as its sender sees it."""
        token = metrics.update_arrived(arrived)
        try:
            await work
        except Exception:
            metrics.UPDATES_HANDLED.labels(kind, "error").inc()
            raise
        finally:
            metrics.CURRENT_UPDATE.reset(token)
        metrics.UPDATES_HANDLED.labels(kind, "ok").inc()

    def _language(self, update: Update) -> str:
        user = update.effective_user
        return language_of(user.language_code if user else None, self.default_language)

    async def _tell_slow_down(self, update: Update) -> None:
        chat, message = update.effective_chat, update.effective_message
        if chat is None:
            return
        thread = message.message_thread_id if message and message.is_topic_message else None
        try:
            await update.get_bot().send_message(
                chat.id, t(self._language(update), "admission.slow_down"), message_thread_id=thread
            )
            self.notices += 1
        except TelegramError as exc:
            log.info("could not tell chat %s to slow down: %s", chat.id, exc)

    async def _answer_button(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        try:
            await query.answer(t(self._language(update), "admission.slow_down"))
        except TelegramError as exc:
            log.info("could not answer a dropped button press: %s", exc)
