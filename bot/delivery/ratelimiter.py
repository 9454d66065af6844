"""The bot's one rate limiter: every Bot API request of the process goes through it.

Message-sending requests wait for a grant from a `FloodPlanner` (one shared
budget: handler replies first, then bulk messages, each chat paced on its
own; a request with ``allow_paid_broadcast`` on the paid budget, when the
limits have one); everything else (getUpdates, answerCallbackQuery,
editMessage*, ...) passes straight through.

On a bot that shares its PostgreSQL store with others and does not lead, the
messages go through the leader's limiter instead (`relay`, `bot.delivery.relay`),
so that the bot's limits hold for all of them together.

A 429 pauses its scope for exactly `retry_after` (the chat, or the whole bot
when several chats are flooded at once) and the request is retried when the
pause ends. Pauses are deadlines kept by the planner, not an event that some
request sets again when it finishes: PTB's AIORateLimiter (22.8, issue #5338)
re-opens its shared event in a `finally` run by *every* request, so any
request completing during a pause, or a shorter backoff ending, releases a
pause it did not start. Here only the clock ends a pause, and a longer one is
never shortened by a shorter one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, TypedDict

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

import bot.metrics as metrics
from bot.delivery.limits import ChatKey, FloodPlanner, Limits

if TYPE_CHECKING:
    from bot.delivery.relay import RelayClient

INTERACTIVE_RETRIES: Final = 3
INTERACTIVE_BACKOFF: Final = 0.3  # seconds, times the attempt number

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Result = bool | JSONDict | list[JSONDict]


class RateLimitArgs(TypedDict, total=False):
    """`rate_limit_args` understood by `TelegramRateLimiter`."""

    bulk: bool  # queued traffic (outbox): yields to interactive replies
    kind: str  # what the message is, for the metrics (`metrics.SEND_KINDS`); else "reply"
    on_retry_after: Callable[[float], Awaitable[None]]
    """Awaited with the seconds Telegram asked to wait, at each 429 the request meets
    (the outbox sender puts them on the broadcast the message belongs to)."""
    relayed: bool
    """Another bot's request, made here by the leader (`bot.delivery.relay`): it is
    sent from here whatever this bot's lead, never relayed on."""


BULK: Final[RateLimitArgs] = {"bulk": True}

_UNMETERED_SENDS: Final = frozenset({"sendchataction"})  # a typing indicator is not a message
_OTHER_MESSAGE_METHODS: Final = frozenset(
    {"copymessage", "copymessages", "forwardmessage", "forwardmessages"}
)


def consumes_budget(endpoint: str) -> bool:
    """Whether a Bot API method sends a message (and so counts against flood limits)."""
    name = endpoint.replace("_", "").lower()
    if name.startswith("send"):
        return name not in _UNMETERED_SENDS
    return name in _OTHER_MESSAGE_METHODS


def _own(rate_limit_args: RateLimitArgs | None) -> bool:
    """A message this bot sends itself even while it does not lead: the outbox
    sender's bulk ones (it runs on the leader only, and finishes what it has under
    way as it steps down), and those it makes for another bot (`relayed`)."""
    return bool(rate_limit_args and (rate_limit_args.get("bulk") or rate_limit_args.get("relayed")))


def send_outcome(exc: BaseException | None) -> str:
    """How Telegram answered a send, as `metrics.SEND_OUTCOMES` names it.

    A `NetworkError` the request object raised *from* a transport error never reached
    Telegram ("network"); one PTB made of an HTTP status is a server error ("5xx")."""
    if exc is None:
        return "ok"
    if isinstance(exc, RetryAfter):
        return "429"
    if isinstance(exc, Forbidden):
        return "403"
    if isinstance(exc, ChatMigrated):
        return "migrated"
    if isinstance(exc, TimedOut):
        return "timeout"
    if isinstance(exc, BadRequest):
        return "bad_request"
    if isinstance(exc, NetworkError):
        return "network" if exc.__cause__ is not None else "5xx"
    return "other" if isinstance(exc, TelegramError) else "network"


def chat_key(chat_id: object) -> ChatKey | None:
    if chat_id is None:
        return None
    if isinstance(chat_id, int):
        return chat_id
    try:
        return int(str(chat_id))
    except ValueError:
        return str(chat_id)


def opt_in_to_timedelta() -> None:
    """Have PTB report time spans (`RetryAfter.retry_after`, ...) as `timedelta`.

    PTB 22 gives seconds with a deprecation warning on every read unless
    `PTB_TIMEDELTA` is set, and builds each 429's message by reading it, so a
    fan-out meeting flood control would warn once per 429. The bot reads spans
    through `retry_after_seconds`, which takes both forms, and PTB 23 knows only
    `timedelta`. PTB reads the variable when a span is read, so setting it when
    the Application is built is in time; an operator's own value is kept.
    """
    os.environ.setdefault("PTB_TIMEDELTA", "1")


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramRateLimiter(BaseRateLimiter[RateLimitArgs]):
    """Throttles message sends to Telegram's limits; see the module docstring.

    `max_retries`: how many 429s one request may meet before the error is
    raised to the caller (None: retry until sent; each retry waits the time
    Telegram asked for, so this never spins).
    """

    def __init__(self, limits: Limits | None = None, *, max_retries: int | None = None) -> None:
        self.planner = FloodPlanner(limits)
        self.max_retries = max_retries
        self.flood_waits = 0  # 429s met: should stay 0 when the limits are right
        self._keys = itertools.count()
        self._grants: dict[Hashable, asyncio.Future[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.relay: RelayClient | None = None
        """Set while this bot shares a PostgreSQL store with others: whenever it does
        not lead, its messages go out through the leader's limiter. None on SQLite."""

    @property
    def limits(self) -> Limits:
        return self.planner.limits

    async def initialize(self) -> None:
        self._bind()

    async def shutdown(self) -> None:
        """Wake nobody again: waiting requests are cancelled."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for key, future in list(self._grants.items()):
            self.planner.cancel(key)
            future.cancel()
        self._grants.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RateLimitArgs | None,
    ) -> Result:
        metered = consumes_budget(endpoint)
        relay = self.relay
        if relay is not None and metered and relay.active and not _own(rate_limit_args):
            request = relay.request_of(endpoint, data, rate_limit_args)
            if request is not None:
                return await relay.send(request)
        chat = chat_key(data.get("chat_id"))
        bulk = bool(rate_limit_args and rate_limit_args.get("bulk"))
        # A paid broadcast's message goes on the paid budget; without one (the flag on a
        # bot with PAID_BROADCAST_RATE=0) the free budget still keeps it within 30/s.
        paid = data.get("allow_paid_broadcast") is True and self.limits.paid_rate_per_second > 0
        on_retry_after = rate_limit_args.get("on_retry_after") if rate_limit_args else None
        kind = (rate_limit_args.get("kind") if rate_limit_args else None) or "reply"
        seq = self.planner.next_seq()
        retries = 0
        hiccups = 0
        while True:
            key = await self._acquire(chat, bulk, seq, paid) if metered else None
            try:
                try:
                    answer = await callback(*args, **kwargs)
                except Exception as exc:
                    if metered:
                        metrics.message_sent(kind, send_outcome(exc))
                    raise
                if metered:
                    metrics.message_sent(kind, "ok")
                    if not bulk:
                        metrics.reply_sent()
                return answer
            except NetworkError as exc:
                # A person is waiting for this reply: ride out a brief 5xx or a
                # dropped connection. Bulk rows have the sender's persistent
                # backoff; a timeout may have been delivered, so it is not repeated;
                # a 400 (BadRequest is a NetworkError too) is an answer, not a hiccup.
                if bulk or isinstance(exc, TimedOut | BadRequest) or endpoint == "getUpdates":
                    raise
                if hiccups == INTERACTIVE_RETRIES:
                    raise
                hiccups += 1
                log.info(
                    "%s failed (%s); retry %d of an interactive request", endpoint, exc, hiccups
                )
                await asyncio.sleep(INTERACTIVE_BACKOFF * hiccups)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                self.flood_waits += 1
                metrics.RETRY_AFTER.observe(wait)
                if on_retry_after is not None:
                    await on_retry_after(wait)
                if retries == self.max_retries:
                    raise
                retries += 1
                if metered:
                    scope = self.planner.on_retry_after(chat, wait, self._now(), paid=paid)
                    log.warning(
                        "429 on %s to chat %s: pausing %s for %.1f s", endpoint, chat, scope, wait
                    )
                    self._reschedule()
                else:
                    log.warning("429 on %s: retrying in %.1f s", endpoint, wait)
                    await asyncio.sleep(wait)
            finally:
                if metered and self.planner.completed(chat, self._now(), key=key):
                    self._reschedule()

    # -- queries for the outbox sender -----------------------------------------

    def busy_chats(self, within: float = 0.0) -> set[ChatKey]:
        """Chats that cannot send within `within` seconds from now."""
        return self.planner.busy_chats(self._now() + within)

    def busy_within(self, within: float = 0.0) -> Callable[[ChatKey], bool]:
        """Whether a chat cannot send within `within` seconds from now, asked chat by
        chat: cheaper than `busy_chats` when only a few chats are in question."""
        before = self._now() + within
        ready_at = self.planner.chat_ready_at
        return lambda chat: ready_at(chat) > before

    def note_sent(self, chat: ChatKey, seconds_ago: float) -> None:
        """Pace `chat` as if a message went to it `seconds_ago` (sent by an earlier process)."""
        self.planner.note_sent(chat, self._now() - max(0.0, seconds_ago))

    def backlog(self, within: float = 0.0, *, paid: bool = False) -> int:
        """Requests waiting on one budget (the free one, or the paid one) that may go
        within `within` seconds (not those held by a chat's pause): how much a newly
        queued message on that budget would wait behind."""
        return self.planner.backlog(self._now() + within, paid=paid)

    def seconds_until_ready(self, chats: Iterable[ChatKey]) -> float | None:
        """How long until the first of `chats` may send (None: no chats given)."""
        readies = [self.planner.chat_ready_at(chat) for chat in chats]
        if not readies:
            return None
        overall = self.planner.global_ready_at()
        if self.limits.paid_rate_per_second > 0:  # a held chat may be waiting for either
            overall = min(overall, self.planner.global_ready_at(paid=True))
        ready = max(min(readies), overall)
        return max(0.0, ready - self._now())

    # -- granting --------------------------------------------------------------

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A new event loop (tests, a restarted application): nothing old can be woken.
            self._loop = loop
            self._timer = None
            for key in self._grants:
                self.planner.cancel(key)
            self._grants.clear()
        return loop

    def _now(self) -> float:
        return self._bind().time()

    async def _acquire(
        self, chat: ChatKey | None, bulk: bool, seq: int, paid: bool = False
    ) -> Hashable:
        """Wait for a grant; returns its key, to report the answer with."""
        loop = self._bind()
        key = next(self._keys)
        grant = loop.create_future()
        self._grants[key] = grant
        self.planner.submit(key, chat, bulk=bulk, seq=seq, paid=paid)
        self._tick()
        asked = loop.time()
        try:
            await grant
        except asyncio.CancelledError:
            if self.planner.cancel(key):
                self._grants.pop(key, None)
                self._reschedule()
            elif self.planner.completed(None, self._now(), key=key):
                self._reschedule()  # granted, but it will not be sent
            raise
        budget = "paid" if paid else "bulk" if bulk else "interactive"
        metrics.rate_limit_waited(budget, loop.time() - asked)
        return key

    def _tick(self) -> None:
        """Grant what may go now, then set the one timer for the next grant. Called by
        that timer and on every new request; the timer is replaced, never left behind:
        each one left running would tick again for nothing, and at a high rate they
        pile up to several idle ticks per message."""
        for key in self.planner.poll(self._now()):
            grant = self._grants.pop(key, None)
            if grant is not None and not grant.done():
                grant.set_result(None)
        self._reschedule()

    def _reschedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        wake = self.planner.next_poll_at()
        if wake is not None:
            self._timer = self._bind().call_at(wake, self._tick)
