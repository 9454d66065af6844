"""Followers send their messages through the leader, so one rate limiter paces them all.

Several bots may share one PostgreSQL store (`bot.store.leader`). In webhook mode
every one of them answers the updates it is handed, and each answer goes through
its own `TelegramRateLimiter`: two bots would be two budgets, and Telegram's limits
(30 messages a second for the bot, about one a second to a private chat, 20 a
minute to a group) are the bot's, whichever process sends. So a bot that does not
lead sends no message itself: `RelayClient`, set on its limiter, stores each
message-sending request in the store's `relay` table (`bot.store.relay`), and the
leader's `RelayServer` makes it through the leader's limiter as an interactive
request, ahead of the outbox's bulk traffic, exactly as a reply of its own. The
answer comes back through the same row.

Why relay rather than split the budget (each of n bots sending 30/n a second): a
split holds whatever each bot's share does not use. The leader's bulk sends (a
broadcast, the morning's digests) would run at 30 less the followers' share, under
the 95% of Telegram's rate the sender is built to keep, even while the followers
send nothing; and a chat's allowance cannot be split at all: a reply from one bot
and a digest from another to the same private chat, each within its own budget,
are two messages in the same second. Only one planner seeing every message keeps
both limits, and through it a follower's reply still goes ahead of bulk sends.

Why a table of its own rather than outbox rows: the outbox sends a chat's rows
one at a time in the order they were queued, so a reply would wait behind the
chat's queued digest, or behind its copy of a broadcast still an hour from its
turn; the sender's answers to errors (deactivating a chat, following a migration,
retrying with backoff) are the outbox's, not a reply's; and /stats counts the
outbox's rows. The relay keeps none of that: each request is made at once, through
the limiter, and its answer goes back as it came.

How a request travels:

1. The follower's limiter hands every message-sending request (`consumes_budget`)
   that is not bulk to the relay while this bot does not lead. Its parameters are
   made JSON as PTB makes them for the request body (`request_of`); a request with
   a file to upload, or with a `media` list, goes directly as before (its bytes
   are not stored, and the leader's PTB would redo the media's defaults); so does
   every request that sends no message (answerCallbackQuery, editMessage*,
   getUpdates, setWebhook, ...).
2. `bot.store.relay.ask` stores it and, in the same statement, notifies the
   leader (channel `REQUESTS`); the follower then waits for a notice on a channel
   of its own, reading the row at each notice and every `POLL_SECONDS` (notices
   are hints).
3. The leader's `RelayServer` claims pending rows, makes each request
   (`do_api_request`, marked `relayed` so it is never relayed again), and stores
   Telegram's result, or the error (its class, description, retry_after,
   migrate_to_chat_id), which notifies the follower.
4. The follower takes the answer (deleting the row) and returns the result to
   PTB, the same JSON a direct call returns, or raises the same `telegram.error`
   exception (`error_of`): Forbidden, BadRequest, ChatMigrated, TimedOut. Nothing
   else happens to a relayed message: no chat is deactivated, migrated or
   retried by the relay, as nothing is by a reply sent directly; the handler
   sees what it would have seen.

A follower waits at most `WAIT_SECONDS`, then raises TimedOut. A row the leader
has not claimed by then is abandoned and never sent; one it is sending may still
arrive, as a timed-out direct request may. If the leader dies with rows claimed,
the next leader puts them back in the queue when it starts and sends those whose
follower still waits (as the outbox resets its rows in flight: a message whose
answer was lost with the leader can go twice). A bot that leads, or comes to lead,
sends directly; the rows it asked for as a follower are answered by its own
server, as by any leader.

A row's `expires_at` is on the follower's clock and the leader compares it with
its own: the replicas' clocks are taken to agree (NTP), as a skew of s seconds
moves the last moment a request is still sent by s. The parameters are made JSON
by PTB's own `RequestParameter`, which PTB calls internal: the tests compare a
relayed request with a direct one on the wire, so a change there shows.

On SQLite the one bot always leads: no relay exists, and the limiter's one check
(`relay is None`) is all it costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot
from telegram.request import RequestData
from telegram.warnings import PTBUserWarning

import bot.metrics as metrics
from bot.delivery.ratelimiter import RateLimitArgs, Result, TelegramRateLimiter
from bot.delivery.ratelimiter import retry_after_seconds as _retry_after_seconds
from bot.delivery.tasks import finish_or_cancel
from bot.store import relay as relay_store
from bot.store.db import Database, is_database_error
from bot.store.leader import Leadership, Notices

log = logging.getLogger(__name__)

WAIT_SECONDS: Final = 30.0
"""How long a follower waits for the leader's answer before raising TimedOut."""
POLL_SECONDS: Final = 1.0
"""How often each side looks without a notice: a follower at its row, the leader
for new rows."""
SERVE_IN_FLIGHT: Final = 128
"""Relayed requests the leader makes at once; they wait their turn in its limiter
as its own replies do."""
EARLY_KEPT: Final = 256
"""Answers heard before their request's wait began, kept for it (see `_heard`)."""

_ERRORS: Final[dict[str, type[TelegramError]]] = {
    error.__name__: error
    for error in (
        TelegramError,
        NetworkError,
        BadRequest,
        TimedOut,
        Forbidden,
        InvalidToken,
        EndPointNotFound,
        Conflict,
        ChatMigrated,
        RetryAfter,
    )
}
"""The errors a relayed request's answer names, by class name: each stands for the
error PTB raised at the leader, and is raised again at the follower."""
_CODES: Final[dict[str, int]] = {
    "BadRequest": 400,
    "ChatMigrated": 400,
    "InvalidToken": 401,
    "Forbidden": 403,
    "EndPointNotFound": 404,
    "Conflict": 409,
    "RetryAfter": 429,
}
"""The HTTP status each error stands for, stored with it for whoever reads the row."""


@dataclass(frozen=True)
class Request:
    """A request as the relay stores it."""

    method: str
    params: str  # a JSON object, as PTB would send it
    kind: str  # what the message is, for the leader's metrics


def request_of(
    endpoint: str, data: dict[str, Any], rate_limit_args: RateLimitArgs | None
) -> Request | None:
    """The request as a row stores it: its parameters as PTB builds the request's
    body from them (`Bot._do_post`: objects as their dicts, dates as timestamps,
    None left out). None when it cannot go through the store: a file to upload, or
    a `media` list (the leader's PTB would apply its parse-mode default to each
    item again, and items it gets as dicts are not objects it can)."""
    from telegram.request._requestparameter import RequestParameter

    body = RequestData([RequestParameter.from_input(key, value) for key, value in data.items()])
    if body.contains_files:
        return None
    params = body.parameters
    if isinstance(params.get("media"), list):
        return None
    try:
        encoded = json.dumps(params, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    kind = (rate_limit_args.get("kind") if rate_limit_args else None) or "reply"
    return Request(endpoint, encoded, kind)


def encode_answer(result: Any = None, error: BaseException | None = None) -> str:
    """What a relayed request's row stores: Telegram's result, or the error PTB raised."""
    if error is None:
        return json.dumps({"result": result}, ensure_ascii=False, separators=(",", ":"))
    return json.dumps({"error": _error_fields(error)}, ensure_ascii=False, separators=(",", ":"))


def _error_fields(error: BaseException) -> dict[str, Any]:
    if isinstance(error, EndPointNotFound) and isinstance(error.__cause__, InvalidToken):
        # do_api_request names a rejected token so once the bot is initialised; a typed
        # method, as the follower's call was, raises the token's error itself.
        error = error.__cause__
    if not isinstance(error, TelegramError):
        # Not Telegram's answer: the request failed on the way (the leader's transport).
        return {"type": "NetworkError", "description": f"{type(error).__name__}: {error}"}
    name = next(cls.__name__ for cls in type(error).__mro__ if cls.__name__ in _ERRORS)
    fields: dict[str, Any] = {"type": name, "code": _CODES.get(name), "description": error.message}
    if isinstance(error, ChatMigrated):
        fields["migrate_to_chat_id"] = error.new_chat_id
    if isinstance(error, RetryAfter):
        fields["retry_after"] = _retry_after_seconds(error)
    return fields


def decode_answer(answer: str) -> Result:
    """A stored answer as the direct call would end: its result, or its error raised."""
    decoded = json.loads(answer)
    if "error" in decoded:
        raise error_of(decoded["error"])
    result: Result = decoded["result"]
    return result


def error_of(fields: dict[str, Any]) -> TelegramError:
    """The error a stored answer names, as PTB raised it at the leader."""
    name = fields.get("type")
    if name == "ChatMigrated":
        return ChatMigrated(int(fields["migrate_to_chat_id"]))
    if name == "RetryAfter":
        seconds = float(fields["retry_after"])
        return RetryAfter(int(seconds) if seconds.is_integer() else timedelta(seconds=seconds))
    error = _ERRORS.get(str(name), NetworkError)(str(fields.get("description") or ""))
    error.message = str(fields.get("description") or "")  # as stored, not stripped again
    return error


class RelayClient:
    """A follower's side: set on its limiter (`relaying`), it relays the messages
    the bot sends while it does not lead (see the module's docstring)."""

    def __init__(
        self,
        db: Database,
        notices: Notices,
        leadership: Leadership,
        *,
        wait: float = WAIT_SECONDS,
        poll: float = POLL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.notices = notices
        self.leadership = leadership
        self.wait = wait
        self.poll = poll
        self.clock = clock
        self.channel = f"relay_{secrets.token_hex(8)}"
        """The notice channel this bot's answers come on: its own, so a bot hears
        only of its own rows."""
        self.relayed = 0
        """Requests sent through the leader so far."""
        self._waiting: dict[int, asyncio.Event] = {}
        self._early: OrderedDict[int, None] = OrderedDict()
        self._unlisten: Callable[[], Awaitable[None]] | None = None
        self._closed = False
        self._giving_up: set[asyncio.Task[bool]] = set()

    @property
    def active(self) -> bool:
        """Whether a message sent now goes through the leader: this bot does not lead."""
        return not self.leadership.leading and not self._closed

    def request_of(
        self, endpoint: str, data: dict[str, Any], rate_limit_args: RateLimitArgs | None
    ) -> Request | None:
        """See the module-level `request_of`."""
        return request_of(endpoint, data, rate_limit_args)

    async def start(self) -> None:
        """Listen for answers (before any request is stored, so none is missed)."""
        self._closed = False
        self._unlisten = await self.notices.listen(self.channel, self._heard)

    async def stop(self) -> None:
        """Relay nothing more; requests still waiting give up at once."""
        self._closed = True
        for event in self._waiting.values():
            event.set()
        unlisten, self._unlisten = self._unlisten, None
        if unlisten is not None:
            await unlisten()
        if self._giving_up:
            await asyncio.gather(*self._giving_up, return_exceptions=True)

    async def send(self, request: Request) -> Result:
        """Have the leader make `request`; its result, or its error raised."""
        now = self.clock()
        try:
            row_id = await relay_store.ask(
                self.db,
                method=request.method,
                params=request.params,
                kind=request.kind,
                reply_to=self.channel,
                now=now,
                expires_at=now + self.wait,
            )
        except Exception as exc:
            if not is_database_error(exc):
                raise
            # Not sent, and nothing stored: as a request that never reached Telegram.
            reason = f"could not relay {request.method} to the leading bot: {exc}"
            raise NetworkError(reason) from exc
        self.relayed += 1
        answer = await self._answer(row_id, request.method)
        result = decode_answer(answer)
        metrics.reply_sent()
        return result

    async def _answer(self, row_id: int, method: str) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        event = self._waiting[row_id] = asyncio.Event()
        if row_id in self._early:
            del self._early[row_id]
            event.set()
        try:
            while not self._closed:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(self.poll, remaining)):
                        await event.wait()
                event.clear()
                answer = await self._take(row_id)
                if answer is not None:
                    return answer
            if not await self._abandon(row_id):
                answer = await self._take(row_id)  # answered as the wait ended
                if answer is not None:
                    return answer
        except asyncio.CancelledError:
            # The handler was stopped: its message is not wanted unless already under way.
            self._give_up_later(row_id)
            raise
        finally:
            del self._waiting[row_id]
        reason = "the bot is stopping" if self._closed else f"no answer within {self.wait:g} s"
        raise TimedOut(f"{method} relayed to the leading bot: {reason}")

    async def _abandon(self, row_id: int) -> bool:
        """Whether the row was abandoned before the leader claimed it (then never sent)."""
        try:
            return await relay_store.abandon(self.db, row_id, self.clock())
        except Exception as exc:
            if not is_database_error(exc):
                raise
            log.debug("relayed request %d could not be abandoned (%s)", row_id, exc)
            return False

    async def _take(self, row_id: int) -> str | None:
        try:
            return await relay_store.take(self.db, row_id)
        except Exception as exc:
            if not is_database_error(exc):
                raise
            log.debug("relayed request %d: its answer could not be read (%s)", row_id, exc)
            return None

    def _give_up_later(self, row_id: int) -> None:
        task = asyncio.ensure_future(relay_store.abandon(self.db, row_id, self.clock()))
        self._giving_up.add(task)
        task.add_done_callback(self._given_up)

    def _given_up(self, task: asyncio.Task[bool]) -> None:
        self._giving_up.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("a relayed request could not be abandoned: %s", task.exception())

    def _heard(self, payload: str) -> None:
        try:
            row_id = int(payload)
        except ValueError:
            return
        event = self._waiting.get(row_id)
        if event is not None:
            event.set()
            return
        # Answered before its wait began (the leader was quicker than this loop's
        # turn): kept for it, a bounded few, as one heard after its wait ended is too.
        self._early[row_id] = None
        while len(self._early) > EARLY_KEPT:
            self._early.popitem(last=False)


@contextlib.asynccontextmanager
async def relaying(
    limiter: TelegramRateLimiter, db: Database, notices: Notices, leadership: Leadership
) -> AsyncIterator[RelayClient]:
    """The bot's limiter relays its messages while the bot does not lead, until
    the block ends."""
    client = RelayClient(db, notices, leadership)
    await client.start()
    limiter.relay = client
    try:
        yield client
    finally:
        if limiter.relay is client:
            limiter.relay = None
        await client.stop()


def _quiet_raw_requests() -> None:
    """The leader makes relayed requests by their method's name (`do_api_request`),
    which warns that a typed method exists; the typed method is what the follower
    called. Installed by each server (an identical filter replaces the last)."""
    warnings.filterwarnings(
        "ignore",
        message=r"Please use 'Bot\.\w+' instead of 'Bot\.do_api_request",
        category=PTBUserWarning,
    )


class RelayServer:
    """The leader's side: makes the followers' requests through this bot's limiter
    (see the module's docstring). Started and stopped with the outbox sender, as
    the leader's duty."""

    def __init__(
        self,
        db: Database,
        bot: ExtBot[Any],
        notices: Notices,
        *,
        in_flight: int = SERVE_IN_FLIGHT,
        idle_poll: float = POLL_SECONDS,
        record_retry_base: float = 0.5,
        record_retry_cap: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if in_flight < 1:
            raise ValueError("in_flight must be at least 1")
        _quiet_raw_requests()
        self.db = db
        self.bot = bot
        self.notices = notices
        self.in_flight = in_flight
        self.idle_poll = idle_poll
        self.record_retry_base = record_retry_base
        self.record_retry_cap = record_retry_cap
        self.clock = clock
        self.served = 0
        """Requests made and answered so far."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], Awaitable[None]] | None = None

    async def start(self) -> None:
        """Resume from the table: rows the last leader left in flight are sent again."""
        if self._runner is not None:
            raise RuntimeError("the relay is already serving")
        reset = await relay_store.reset_in_flight(self.db)
        if reset:
            log.warning("%d relayed requests were in flight at the last leader: sent again", reset)
        self._stopping = False
        self._unlisten = await self.notices.listen(relay_store.REQUESTS, self._heard)
        self._runner = asyncio.create_task(self._run(), name="relay-server")

    async def stop(self, grace: float = 10.0) -> None:
        """Claim nothing more; let requests under way finish for up to `grace`
        seconds, then cancel the rest (their rows go back to pending)."""
        self._stopping = True
        self._wake.set()
        unlisten, self._unlisten = self._unlisten, None
        if unlisten is not None:
            await unlisten()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner
        await finish_or_cancel(list(self._tasks), grace)

    def wake(self) -> None:
        """New rows: look now rather than at the next poll."""
        self._wake.set()

    def _heard(self, _payload: str) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                room = self.in_flight - len(self._tasks)
                rows = await relay_store.claim(self.db, now=self.clock(), limit=room)
            except Exception:
                log.exception("relay: claiming failed; trying again shortly")
                rows = []
            for row in rows:
                task = asyncio.create_task(self._serve(row), name=f"relay-{row.id}")
                self._tasks.add(task)
                task.add_done_callback(self._finished)
            if self._stopping:
                break
            timer = asyncio.get_running_loop().call_later(self.idle_poll, self._wake.set)
            try:
                await self._wake.wait()
            finally:
                timer.cancel()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # room for one more

    async def _serve(self, row: relay_store.Relayed) -> None:
        limit_args: RateLimitArgs = {"kind": row.kind, "relayed": True}
        try:
            result = await self.bot.do_api_request(
                row.method, api_kwargs=json.loads(row.params), rate_limit_args=limit_args
            )
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await relay_store.put_back(self.db, row.id)
            raise
        except Exception as exc:
            answer = encode_answer(error=exc)
        else:
            answer = encode_answer(result)
        await self._record(row.id, answer)

    async def _record(self, row_id: int, answer: str) -> None:
        """Store the answer, trying again while the database refuses: the message has
        gone, and its follower waits for this. A stopping server gives up; the row
        stays 'sending' and the next leader sends it again if its follower still
        waits (the outbox's window for a duplicate, here at most `WAIT_SECONDS`)."""
        delay = self.record_retry_base
        while True:
            try:
                await relay_store.answer(self.db, row_id, answer, self.clock())
            except Exception as exc:
                if self._stopping:
                    log.error("relayed request %d: could not store the answer: %s", row_id, exc)
                    return
                log.warning(
                    "relayed request %d: could not store the answer (%s); trying again in %.1fs",
                    row_id,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(self.record_retry_cap, delay * 2)
            else:
                self.served += 1
                return
