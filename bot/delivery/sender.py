"""The outbox sender: the only way bulk messages leave the bot.

It claims due rows (one per chat, best priority first), sends them
concurrently through the bot, whose `TelegramRateLimiter` paces every request,
and writes each outcome back to its row. All state lives in the table, so a
new process on the same database resumes where the last one stopped.

"Sent" marks are group-committed: the marks that arrive while one write
transaction is open go together in the next, so at a high rate a write no
longer costs a transaction per message, and at a low one (a mark at a time)
nothing changes. A crash between Telegram accepting a message and its mark
being committed sends it again after the restart; the group widens that
window from one transaction to at most two (the one running and the next),
and it never holds more than one row per chat, since a chat has at most one
row in flight: still at most one duplicate per chat per crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

import bot.metrics as metrics
from bot.delivery.ratelimiter import (
    BULK,
    RateLimitArgs,
    TelegramRateLimiter,
    retry_after_seconds,
)
from bot.delivery.tasks import finish_or_cancel
from bot.store import broadcasts, outbox
from bot.store.chats import deactivate_chat, deactivate_target, migrate_chat
from bot.store.db import Database
from bot.store.outbox import OutboxRow

log = logging.getLogger(__name__)


def _quiet_raw_requests() -> None:
    """do_api_request warns that a typed method exists for the sender's methods; `_send`
    says why it uses it anyway. Installed by each sender (an identical filter replaces
    the last), so it holds wherever warnings are reset, as test runners do."""
    warnings.filterwarnings(
        "ignore",
        message=r"Please use 'Bot\.(sendMessage|sendPhoto|copyMessage|forwardMessage)'",
        category=PTBUserWarning,
    )


Outcome = Literal["sent", "failed", "dropped", "retry"]
MARK_GROUP = 256  # most "sent" marks in one transaction
PAID_METHODS = frozenset({"sendMessage", "copyMessage"})
"""Outbox methods that take `allow_paid_broadcast` (forwardMessage does not)."""
PHOTO_REFUSALS = (
    "wrong file identifier/http url specified",
    "failed to get http url content",
    "wrong type of the web page content",
)
"""Telegram's answers when it cannot use a photo's URL (the image is gone,
unreachable, or not an image): the row's text version goes instead."""
FREE_IN_FLIGHT_LEAST = 32
FREE_IN_FLIGHT_MOST = 128
IN_FLIGHT_SECONDS = 0.1
"""How long answers may take, with the bot's own turn, before the free budget's
rate falls for want of requests in flight (Little's law)."""


def free_in_flight(rate: float) -> int:
    """Requests the free budget keeps in flight at `rate` a second: enough that
    answers taking `IN_FLIGHT_SECONDS` do not slow it, within the bounds."""
    wanted = math.ceil(rate * IN_FLIGHT_SECONDS)
    return max(FREE_IN_FLIGHT_LEAST, min(FREE_IN_FLIGHT_MOST, wanted))


_BULK_OF_KIND: dict[str, RateLimitArgs] = {
    kind: {"bulk": True, "kind": metrics.outbox_kind(kind)} for kind in outbox.KINDS
}
"""The limiter's arguments for each kind of row, made once: its metrics count the
messages by kind."""


RowFinished = Callable[[OutboxRow, Outcome], Awaitable[None]]
"""Called after a row reaches a final state (sent, failed or dropped)."""


class OutboxSender:
    """Delivers outbox rows until stopped. `wake()` after enqueueing rows.

    Rows are claimed just in time: only for chats the rate limiter lets send
    within `lookahead` seconds, and only while the limiter's queue holds less
    than `lookahead` seconds of budget. A deeper queue would make every
    message, and each chat's next one, wait behind it (a group's 20 a minute
    would shrink), and would let a later notice wait behind a broadcast.
    `max_in_flight` bounds the free budget's concurrent requests; left out, it
    follows the budget (`free_in_flight`): Telegram's 30 a second need 32, and a
    budget raised past what 32 requests can carry (an answer takes milliseconds
    even on loopback, and the bot's own loop adds its turn) gets more, up to
    `FREE_IN_FLIGHT_MOST`. Network and server
    errors are retried with jittered exponential backoff, up to `max_attempts`
    sends; then the row fails with the reason.

    When the limiter has a paid budget (`Limits.paid_rate_per_second`), a paid
    broadcast's copies are claimed for it apart, up to `paid_in_flight` at once,
    and sent with `allow_paid_broadcast`; the two budgets never wait for each
    other. At 1,000 messages a second, `paid_in_flight` is what lets answers take
    up to its thousandth of a second (Little's law: 192 → 0.19 s) before the rate
    falls; with the free budget's most it stays within the aiohttp request
    object's connections, leaving the rest to replies.
    """

    def __init__(
        self,
        db: Database,
        bot: ExtBot[Any],
        *,
        max_in_flight: int | None = None,
        paid_in_flight: int = 192,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        idle_poll: float = 2.0,
        lookahead: float = 0.2,
        lease: float = outbox.CLAIM_LEASE,
        record_retry_base: float = 0.5,
        record_retry_cap: float = 30.0,
        on_finished: RowFinished | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        limiter = bot.rate_limiter
        if not isinstance(limiter, TelegramRateLimiter):
            raise TypeError("the bot must use TelegramRateLimiter, or bulk sends would flood")
        if (
            (max_in_flight is not None and max_in_flight < 1)
            or max_attempts < 1
            or paid_in_flight < 1
        ):
            raise ValueError("max_in_flight, paid_in_flight and max_attempts must be at least 1")
        _quiet_raw_requests()
        self.db = db
        self.bot = bot
        self.limiter = limiter
        self.max_in_flight = max_in_flight
        self.paid_in_flight = paid_in_flight
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.idle_poll = idle_poll
        self.lookahead = lookahead
        self.lease = lease
        self.record_retry_base = record_retry_base
        self.record_retry_cap = record_retry_cap
        self.on_finished = on_finished
        self.clock = clock
        self.rng = rng or random.Random()
        self.counts: Counter[Outcome] = Counter()
        self.photo_fallbacks = 0  # photos Telegram refused, sent as their text instead
        self._in_flight: dict[asyncio.Task[None], OutboxRow] = {}
        self._paid_flying = 0  # of those, sent on the paid budget
        self._marks: list[tuple[int, int | None, asyncio.Future[Outcome]]] = []
        self._marking: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._wakes = 0  # wake() calls so far
        self._empty = asyncio.Event()
        self._due: float | None = None  # see `_next_due`
        self._due_checked = -math.inf
        self._due_stale = True
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------

    async def start(self) -> None:
        """Resume from the table: rows a previous process left in flight are retried."""
        if self._runner is not None:
            raise RuntimeError("the sender is already running")
        await self._remember_recent_sends()
        self._due_stale = True
        reset = await outbox.reset_in_flight(self.db)
        if reset:
            log.warning("%d outbox rows were in flight at the last stop; sending them again", reset)
        self._stopping = False
        self._runner = asyncio.create_task(self._run(), name="outbox-sender")

    async def _remember_recent_sends(self) -> None:
        """A new process knows nothing of what the last one sent in its final seconds:
        pace those chats (and those it left in flight) as if they had just been written
        to, or a prompt restart would meet 429s from Telegram's per-chat limits."""
        limits = self.limiter.limits
        now = self.clock()
        memory = max(limits.private_interval, limits.group_interval)
        for chat, at in (await outbox.recent_sends(self.db, since=now - memory - 1)).items():
            self.limiter.note_sent(chat, seconds_ago=now - min(at, now))

    async def stop(self, grace: float = 10.0) -> None:
        """Claim nothing more; let requests in flight finish for up to `grace` seconds,
        then cancel the rest (their rows go back to pending)."""
        self._stopping = True
        self._wake.set()
        if self._runner is not None:
            await self._runner
            self._runner = None
        await finish_or_cancel(list(self._in_flight), grace)

    def wake(self) -> None:
        """New rows were enqueued: look now rather than at the next poll."""
        self._empty.clear()
        self._wakes += 1
        self._due_stale = True  # they may be due later
        self._wake.set()

    async def wait_empty(self) -> None:
        """Return once nothing is pending or in flight (checked after each claim round)."""
        await self._empty.wait()

    # -- claiming --------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            wakes = self._wakes
            try:
                claimed, free, held = await self._fill()
                empty = not self._in_flight and await outbox.depth(self.db) == 0
                # Rows queued (and a wake) while this round looked are not in what
                # it saw: only a round that began after the last wake says "empty".
                if empty and self._wakes == wakes:
                    self._empty.set()
                else:
                    self._empty.clear()
                timeout = self.idle_poll
                if claimed < free:
                    timeout = await self._until_next(held)
            except Exception:
                log.exception("outbox sender: claiming failed; trying again shortly")
                timeout = self.idle_poll
            if self._stopping:
                break
            # A timer that sets the event, rather than wait_for: this runs once per
            # finished request, and wait_for makes a task each time.
            timer = asyncio.get_running_loop().call_later(timeout, self._wake.set)
            try:
                await self._wake.wait()
            finally:
                timer.cancel()

    def _room(self, rate: float, in_flight: int, most: int, *, paid: bool) -> int:
        """Rows one budget may take now: what keeps its queue at `lookahead` seconds
        of its rate, within `most` in flight; 0 until a chunk (a quarter of the queue)
        is free while requests are in flight, so claims come a chunk at a time, not
        one per finished request: a claim is a write transaction, and at a high rate
        one per message would be the cost."""
        queue_target = math.ceil(rate * self.lookahead) + 1
        room = min(most - in_flight, queue_target - self.limiter.backlog(self.lookahead, paid=paid))
        chunk = max(1, min(queue_target, most) // 4)
        if room <= 0 or (self._in_flight and room < chunk):
            return 0
        return room

    async def _fill(self) -> tuple[int, int, set[int]]:
        """Claim as many rows as may be sent soon; returns (claimed, wanted, chats held
        back by their rate limit)."""
        limits = self.limiter.limits
        flying = len(self._in_flight)
        paid_limit: int | None = None
        if limits.paid_rate_per_second > 0:
            paid_limit = self._room(
                limits.paid_rate_per_second, self._paid_flying, self.paid_in_flight, paid=True
            )
            flying -= self._paid_flying
        most = self.max_in_flight or free_in_flight(limits.rate_per_second)
        free = self._room(limits.rate_per_second, flying, most, paid=False)
        wanted = free + (paid_limit or 0)
        if wanted <= 0:
            return 0, 0, set()
        held: set[int] = set()
        busy = self.limiter.busy_within(self.lookahead)

        def skip(chat: int) -> bool:
            if busy(chat):
                held.add(chat)
                return True
            return False

        rows = await outbox.claim(
            self.db,
            limit=free,
            now=self.clock(),
            skip=skip,
            lease=self.lease,
            in_flight=[row.id for row in self._in_flight.values()],
            paid_limit=paid_limit,
        )
        for row in rows:
            task = asyncio.create_task(self._deliver(row), name=f"outbox-row-{row.id}")
            self._in_flight[task] = row
            self._paid_flying += self._on_paid_budget(row)
            task.add_done_callback(self._finished)
        return len(rows), wanted, held

    def _on_paid_budget(self, row: OutboxRow) -> bool:
        """Whether the row goes with `allow_paid_broadcast`, on the paid budget: a paid
        broadcast's copy, while there is a paid budget (turned off since, its copies
        go free) and its method takes the flag."""
        return (
            row.paid and self.limiter.limits.paid_rate_per_second > 0 and row.method in PAID_METHODS
        )

    def _finished(self, task: asyncio.Task[None]) -> None:
        row = self._in_flight.pop(task, None)
        if row is not None:
            self._paid_flying -= self._on_paid_budget(row)
        self._wake.set()

    async def _until_next(self, held: set[int]) -> float:
        """Seconds until something may become claimable: a retry falls due, or a chat
        held back by its rate limit may send again."""
        now = self.clock()
        candidates = [self.idle_poll]
        due = await self._next_due(now)
        if due is not None:
            candidates.append(due - now)
        ready = self.limiter.seconds_until_ready(held)
        if ready is not None:
            candidates.append(ready - self.lookahead)
        return max(0.005, min(candidates))

    async def _next_due(self, now: float) -> float | None:
        """The earliest `not_before` still ahead among pending rows, looked up again only
        when it may have changed: rows were queued (`wake`) or put back for a retry, the
        one known fell due, or an idle poll's time went by (rows another process queued).

        The lookup walks every pending row (about 2 ms at 20,000). Asked at every claim
        round that came up short, which during a paid broadcast is about every finished
        request (the free budget's room stays empty), it made a broadcast's cost grow
        with the square of its audience."""
        if (
            self._due_stale
            or now - self._due_checked >= self.idle_poll
            or (self._due is not None and self._due <= now)
        ):
            self._due_stale = False
            due = await outbox.next_due(self.db, now)
            if self._due_stale:  # changed while we looked: this answer may miss it
                return due
            self._due, self._due_checked = due, now
        return self._due

    # -- sending ---------------------------------------------------------------

    async def _deliver(self, row: OutboxRow) -> None:
        settle: Callable[[], Awaitable[Outcome]]
        try:
            message_id = await self._send(row)
        except asyncio.CancelledError:
            await outbox.retry_later(self.db, row.id, self.clock(), "interrupted by shutdown")
            raise
        except Exception as exc:
            settle = functools.partial(self._settle_error, row, exc)
        else:
            settle = functools.partial(self._settle_sent, row, message_id)
        outcome = await self._record(row, settle)
        if outcome == "retry":
            self._due_stale = True  # put back, due later
        if outcome is None:
            return
        self.counts[outcome] += 1
        if outcome != "retry" and self.on_finished is not None:
            try:
                await self.on_finished(row, outcome)
            except Exception:
                log.exception("outbox row %d: the on_finished hook failed", row.id)

    async def _record(
        self, row: OutboxRow, settle: Callable[[], Awaitable[Outcome]]
    ) -> Outcome | None:
        """Write the outcome Telegram gave, trying again with backoff while the database
        refuses (a full disk, a lock held too long): a row left 'sending' holds back
        its chat's queue, and after a restart its message would go out twice.

        Once Telegram has answered, a write under way finishes even if we are being
        stopped. Only a stopping sender gives up (the row then waits for the next
        start, or for its lease to expire); None then.
        """
        delay = self.record_retry_base
        while True:
            # A sent mark is a future already (no task to make per message); an
            # error's settling is a coroutine, run as a task of its own.
            recording = asyncio.ensure_future(settle())
            try:
                return await asyncio.shield(recording)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await recording
                raise
            except Exception as exc:
                if self._stopping:
                    log.error("outbox row %d: could not record the outcome: %s", row.id, exc)
                    return None
                log.warning(
                    "outbox row %d: could not record the outcome (%s); trying again in %.1fs",
                    row.id,
                    exc,
                    delay,
                )
            await asyncio.sleep(delay * self.rng.uniform(0.5, 1.0))
            delay = min(self.record_retry_cap, delay * 2)

    async def _send(self, row: OutboxRow) -> int | None:
        """Make the row's request; returns the id of the message Telegram created.

        Through `do_api_request`, which returns Telegram's answer as it came: the
        typed methods would build a Message, with an object per entity (each link and
        tag of a digest), that nothing reads, and that costs about a fifth of the CPU
        a bulk message takes. The request and the errors raised are the same."""
        if row.method not in outbox.METHODS:
            raise ValueError(f"unsupported outbox method {row.method!r}")
        params: dict[str, Any] = {"chat_id": row.chat_id, **row.payload}
        fallback = params.pop(outbox.FALLBACK, None)
        if row.method in ("sendMessage", "sendPhoto"):
            params.setdefault("parse_mode", "HTML")
        if row.thread_id:
            params["message_thread_id"] = row.thread_id
        limit_args: RateLimitArgs = _BULK_OF_KIND.get(row.kind, BULK)
        if self._on_paid_budget(row):
            params["allow_paid_broadcast"] = True  # the limiter puts it on the paid budget
        if row.broadcast_id is not None:
            limit_args = {**limit_args, "on_retry_after": self._pause_noter(row.broadcast_id)}
        try:
            answer = await self.bot.do_api_request(
                row.method, api_kwargs=params, rate_limit_args=limit_args
            )
        except BadRequest as exc:
            if not isinstance(fallback, dict) or not _photo_refused(exc):
                raise
            # Nothing was posted: the row's text goes instead, in the same claim,
            # so the row is still sent (and marked) once.
            self.photo_fallbacks += 1
            log.warning(
                "outbox row %d (chat %d): Telegram refused the photo (%s); sending the text"
                " instead (%d photo fallbacks so far)",
                row.id,
                row.chat_id,
                exc.message,
                self.photo_fallbacks,
            )
            text: dict[str, Any] = {"chat_id": row.chat_id, "parse_mode": "HTML", **fallback}
            if row.thread_id:
                text["message_thread_id"] = row.thread_id
            answer = await self.bot.do_api_request(
                "sendMessage", api_kwargs=text, rate_limit_args=limit_args
            )
        message_id = answer.get("message_id") if isinstance(answer, dict) else None
        return message_id if isinstance(message_id, int) else None

    def _pause_noter(self, broadcast_id: int) -> Callable[[float], Awaitable[None]]:
        """What the limiter calls when Telegram answers one of the broadcast's copies
        with 429: the pause goes on the broadcast, for its summary."""

        async def note(seconds: float) -> None:
            await self._note_pause(broadcast_id, seconds)

        return note

    async def _note_pause(self, broadcast_id: int, seconds: float) -> None:
        now = self.clock()
        try:
            await broadcasts.note_pause(self.db, broadcast_id, now=now, until=now + seconds)
        except Exception:  # a report's detail: never worth failing a send for
            log.exception("broadcast %d: could not record a pause", broadcast_id)

    def _settle_sent(self, row: OutboxRow, message_id: int | None) -> asyncio.Future[Outcome]:
        """Queue the row's mark; the future is "sent" once it is committed, with the
        marks that arrived meanwhile."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._marks.append((row.id, message_id, done))
        if self._marking is None:
            self._marking = asyncio.create_task(self._write_marks(), name="outbox-marks")
        return done

    async def _write_marks(self) -> None:
        """Commit the waiting marks, one transaction per group, until none wait."""
        try:
            while self._marks:
                group, self._marks = self._marks[:MARK_GROUP], self._marks[MARK_GROUP:]
                try:
                    await outbox.mark_sent_many(
                        self.db,
                        [(row_id, message_id) for row_id, message_id, _ in group],
                        self.clock(),
                    )
                except Exception as exc:
                    for _, _, done in group:
                        if not done.done():
                            done.set_exception(exc)
                except BaseException:
                    for _, _, done in group:
                        done.cancel()
                    raise
                else:
                    for _, _, done in group:
                        if not done.done():
                            done.set_result("sent")
        finally:
            self._marking = None
            for _, _, done in self._marks:  # left only if this task was cancelled
                done.cancel()
            self._marks = []

    async def _settle_error(self, row: OutboxRow, exc: Exception) -> Outcome:
        now = self.clock()
        reason = _reason(exc)
        if isinstance(exc, RetryAfter):
            # The limiter normally absorbs these; one escaped (max_retries): queue it.
            wait = retry_after_seconds(exc)
            await outbox.retry_later(self.db, row.id, now + wait, reason)
            if row.broadcast_id is not None:
                await self._note_pause(row.broadcast_id, wait)
            return "retry"
        if isinstance(exc, ChatMigrated):
            log.info(
                "chat %d moved to %d; following it",
                row.chat_id,
                exc.new_chat_id,
                extra=_fields(row, "retry"),
            )
            await migrate_chat(self.db, row.chat_id, exc.new_chat_id)
            if row.attempts >= self.max_attempts:
                await outbox.mark_failed(self.db, row.id, reason, now)
                return "failed"
            await outbox.retry_later(self.db, row.id, now, reason)  # at once, to the new id
            return "retry"
        if isinstance(exc, Forbidden):
            log.info(
                "chat %d is gone (%s): deactivated",
                row.chat_id,
                reason,
                extra=_fields(row, "dropped"),
            )
            await deactivate_chat(self.db, row.chat_id, reason)
            return "dropped"
        if isinstance(exc, BadRequest):
            return await self._settle_bad_request(row, exc, reason, now)
        if isinstance(exc, InvalidToken | EndPointNotFound):
            # The bot's token, not this message: keep the row, never fail it for this.
            # (do_api_request reports a rejected token as EndPointNotFound once the bot
            # is initialised: the methods the sender makes all exist.)
            log.error(
                "outbox row %d: Telegram rejected the bot token",
                row.id,
                extra=_fields(row, "retry"),
            )
            await outbox.retry_later(self.db, row.id, now + self.backoff_cap, reason)
            return "retry"
        if not isinstance(exc, NetworkError):
            log.error(
                "outbox row %d: unexpected error", row.id, exc_info=exc, extra=_fields(row, "retry")
            )
        return await self._retry_or_fail(row, reason, now)

    async def _settle_bad_request(
        self, row: OutboxRow, exc: BadRequest, reason: str, now: float
    ) -> Outcome:
        text = exc.message.lower()
        if "thread not found" in text and row.thread_id:
            log.info(
                "topic %d of chat %d is gone: target deactivated",
                row.thread_id,
                row.chat_id,
                extra=_fields(row, "dropped"),
            )
            await deactivate_target(self.db, row.chat_id, row.thread_id, reason)
            return "dropped"
        if "chat not found" in text:
            log.info("chat %d not found: deactivated", row.chat_id, extra=_fields(row, "dropped"))
            await deactivate_chat(self.db, row.chat_id, reason)
            return "dropped"
        log.warning(
            "outbox row %d (chat %d) refused: %s",
            row.id,
            row.chat_id,
            reason,
            extra=_fields(row, "failed"),
        )
        await outbox.mark_failed(self.db, row.id, reason, now)
        return "failed"

    async def _retry_or_fail(self, row: OutboxRow, reason: str, now: float) -> Outcome:
        if row.attempts >= self.max_attempts:
            log.warning(
                "outbox row %d (chat %d) failed after %d attempts: %s",
                row.id,
                row.chat_id,
                row.attempts,
                reason,
                extra=_fields(row, "failed"),
            )
            await outbox.mark_failed(
                self.db, row.id, f"{reason} (after {row.attempts} attempts)", now
            )
            return "failed"
        await outbox.retry_later(self.db, row.id, now + self.backoff(row.attempts), reason)
        return "retry"

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try: exponential, capped, with jitter so a burst of
        failures does not come back as one burst."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** max(0, attempts - 1))
        return float(ceiling * self.rng.uniform(0.5, 1.0))


def _photo_refused(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return any(refusal in text for refusal in PHOTO_REFUSALS)


def _fields(row: OutboxRow, outcome: Outcome) -> dict[str, object]:
    """A row's outcome as structured log fields (`LOG_FORMAT=json`)."""
    return {
        "outbox_id": row.id,
        "outbox_kind": row.kind,
        "chat_id": row.chat_id,
        "outcome": outcome,
    }


def _reason(exc: Exception) -> str:
    """The error as stored in `last_error` and `inactive_reason`: kind, then Telegram's text."""
    text, kind = str(exc), type(exc).__name__
    return text if text.lower().startswith(kind.lower()) else f"{kind}: {text}"


async def drain(
    db: Database, bot: ExtBot[Any], *, until_empty: bool = True, **options: Any
) -> Counter[Outcome]:
    """Deliver the outbox: until it is empty, or (until_empty=False) until cancelled.

    The bot must be an initialised `ExtBot` with a `TelegramRateLimiter`;
    `options` go to `OutboxSender`. Returns how many rows ended each way.
    """
    sender = OutboxSender(db, bot, **options)
    await sender.start()
    try:
        if until_empty:
            await sender.wait_empty()
        else:
            await asyncio.Event().wait()
    finally:
        await sender.stop()
    return sender.counts
