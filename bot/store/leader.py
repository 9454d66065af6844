"""Which of the bots on one store leads, and how they wake each other.

Some work must be done by one bot per store, not by each: the outbox sender
(two would race for Telegram's limits and resend each other's rows in flight),
the repeating jobs (two would queue every digest twice) and, in polling mode,
getUpdates (Telegram answers a second poller with 409). `Leadership` says whether
this process is the one, and tells when that changes.

- SQLite (`SoleLeadership`): the one process on the file leads from the start, for
  its whole life. The single-instance file lock (`bot.store.lock`) already keeps a
  second bot off the file, so there is nothing to ask and nothing to watch.
- PostgreSQL (`PostgresLeadership`): the leader is whoever holds a session
  advisory lock (`LEADER_LOCK`) on a connection of its own, beside the engine's
  writer and reader. A follower asks for it every `FOLLOWER_RETRY_SECONDS`; the
  leader checks its connection every `LEADER_CHECK_SECONDS` and, once a check
  fails or goes unanswered for `ANSWER_SECONDS`, stops leading at once. When a
  leader's process dies its socket closes and PostgreSQL drops the lock at once;
  when its machine vanishes, the TCP keepalives asked of the server (`SERVER_OPTIONS`)
  end the session within `RELEASE_BOUND_SECONDS`, and a follower leads two seconds
  later at most. The old leader has given up well before: no check of its own
  is answered past `LEADER_CHECK_SECONDS + ANSWER_SECONDS`.

`Notices` is the store's LISTEN/NOTIFY: a follower that queues outbox rows
wakes the leader's sender with one. On PostgreSQL they cross processes (one
listening connection while anyone listens; a notice is sent through the engine's
writer, as one small transaction); on SQLite, with one bot per file, they stay in
the process. Notices are hints, not messages: one sent while the listener
reconnects is lost, so whoever listens also looks on its own from time to time
(the sender polls its table every two seconds).

psycopg is imported only inside the PostgreSQL classes: a SQLite bot never loads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final, TypeVar

from bot.store.db import Connection, Database, Location

if TYPE_CHECKING:
    from psycopg import AsyncConnection

T = TypeVar("T")

log = logging.getLogger(__name__)

LEADER_LOCK: Final = 0x6C65_6164_6572  # "leader": the advisory lock key the leader holds
"""One key per database (PostgreSQL keeps advisory locks per database), apart from
the engine's migration lock."""
FOLLOWER_RETRY_SECONDS: Final = 2.0
"""How often a follower asks for the lock (and reconnects after a failure)."""
LEADER_CHECK_SECONDS: Final = 2.0
"""How often the leader checks that its lock's connection is alive."""
ANSWER_SECONDS: Final = 5.0
"""How long a check, an ask or a LISTEN may go unanswered before its connection
counts as broken. A network that drops packets hangs a query instead of failing
it (TCP retransmits for minutes), so this bound, not an error, ends leadership."""
CONNECT_SECONDS: Final = 5
"""libpq's connect_timeout for the lock's and the listener's connections."""

KEEPALIVE_IDLE: Final = 5
KEEPALIVE_INTERVAL: Final = 2
KEEPALIVE_COUNT: Final = 3
USER_TIMEOUT_MS: Final = 10_000
"""TCP_USER_TIMEOUT: keepalives only probe an idle connection; one with an answer
still unacknowledged (a check's reply sent as the leader's machine vanished) would
otherwise wait for TCP's retransmissions, some fifteen minutes."""
RELEASE_BOUND_SECONDS: Final = KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT
"""11 s: how long the server keeps a vanished leader's session (and its lock)."""
CLIENT_KEEPALIVES: Final = {
    "keepalives": 1,
    "keepalives_idle": KEEPALIVE_IDLE,
    "keepalives_interval": KEEPALIVE_INTERVAL,
    "keepalives_count": KEEPALIVE_COUNT,
    "tcp_user_timeout": USER_TIMEOUT_MS,
}
"""libpq's side: this process notices a dead server on an idle connection (the listener)."""
SERVER_OPTIONS: Final = (
    f"-c tcp_keepalives_idle={KEEPALIVE_IDLE} -c tcp_keepalives_interval={KEEPALIVE_INTERVAL}"
    f" -c tcp_keepalives_count={KEEPALIVE_COUNT} -c tcp_user_timeout={USER_TIMEOUT_MS}"
)
"""The server's side: it ends the session of a client that vanished, which releases
the lock; PostgreSQL's own defaults (the system's, two hours) would keep it."""


Watcher = Callable[[bool], None]
"""Called with the new state (True: leading) each time it changes."""


class Leadership:
    """Whether this process leads the bots on its store (see the module's docstring).

    `leading` is the state now; `watch` calls back on each change, `until_leading`
    and `until_following` wait for one. `start` begins taking part (a PostgreSQL
    bot asks for the lock once before it returns, so a lone bot leads as soon as it
    has started), `stop` gives the lead up; both may be called again later.
    """

    sole: bool = False
    """True when this process leads for its whole life and nothing ever changes
    (SQLite): no task watches anything, and `until_following` never returns."""

    def __init__(self, *, leading: bool = False) -> None:
        self._leading = leading
        self._watchers: list[Watcher] = []
        self._led = asyncio.Event()
        self._followed = asyncio.Event()
        (self._led if leading else self._followed).set()

    @property
    def leading(self) -> bool:
        return self._leading

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call `watcher(leading)` on every change from now on; returns what stops it."""
        self._watchers.append(watcher)
        return functools.partial(_discard, self._watchers, watcher)

    async def until_leading(self) -> None:
        """Return once this process leads (at once if it does)."""
        await self._led.wait()

    async def until_following(self) -> None:
        """Return once this process no longer leads (at once if it does not)."""
        await self._followed.wait()

    async def start(self) -> None:
        """Take part: lead now or later."""

    async def stop(self) -> None:
        """Give the lead up, if held, and stop asking for it."""

    def _change(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if leading:
            self._followed.clear()
            self._led.set()
        else:
            self._led.clear()
            self._followed.set()
        for watcher in list(self._watchers):
            try:
                watcher(leading)
            except Exception:
                log.exception("a leadership watcher failed")


class SoleLeadership(Leadership):
    """SQLite: the one bot on its file leads from the start, for good."""

    sole = True

    def __init__(self) -> None:
        super().__init__(leading=True)


def leadership_for(location: Location) -> Leadership:
    """The leadership of a bot on the store at `location`; nothing is asked before
    `start` (a command-line tool that never starts it never leads on PostgreSQL)."""
    if location.dialect == "postgresql":
        return PostgresLeadership(location)
    return SoleLeadership()


# -- notices -----------------------------------------------------------------------

Heard = Callable[[str], None]
"""Called with a notice's payload ("" when it has none)."""


class Notices:
    """The store's LISTEN/NOTIFY, in-process on SQLite (see the module's docstring).

    `notify(channel, payload)` reaches every `listen(channel, …)` of every process
    on the store, this one's included (on SQLite, with one bot per file, those of
    this object: the bot's services hold one); payloads are short text (PostgreSQL
    takes up to 8,000 bytes). Delivery is a hint: see the module's docstring."""

    def __init__(self) -> None:
        self._heard: dict[str, list[Heard]] = {}

    async def listen(self, channel: str, heard: Heard) -> Callable[[], Awaitable[None]]:
        """Call `heard(payload)` for each notice on `channel` from now on; returns
        what stops it."""
        self._heard.setdefault(channel, []).append(heard)
        return functools.partial(self._unlisten, channel, heard)

    async def notify(self, channel: str, payload: str = "") -> None:
        self._deliver(channel, payload)

    async def close(self) -> None:
        """Stop every listener."""
        self._heard.clear()

    async def _unlisten(self, channel: str, heard: Heard) -> None:
        listeners = self._heard.get(channel)
        if listeners is None:
            return
        _discard(listeners, heard)
        if not listeners:
            del self._heard[channel]

    def _deliver(self, channel: str, payload: str) -> None:
        for heard in list(self._heard.get(channel, ())):
            try:
                heard(payload)
            except Exception:
                log.exception("a listener of %r failed", channel)


def notices_for(db: Database) -> Notices:
    """The notices of the store `db` has open."""
    if db.dialect == "postgresql":
        return PostgresNotices(db)
    return Notices()


def _discard(items: list[T], item: T) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)


# -- PostgreSQL ----------------------------------------------------------------------


class PostgresLeadership(Leadership):
    """PostgreSQL: the holder of the session advisory lock `LEADER_LOCK` leads."""

    def __init__(
        self,
        location: Location,
        *,
        retry: float = FOLLOWER_RETRY_SECONDS,
        check: float = LEADER_CHECK_SECONDS,
        answer: float = ANSWER_SECONDS,
    ) -> None:
        super().__init__()
        self.location = location
        self.retry = retry
        self.check = check
        self.answer = answer
        self._conn: AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._trouble: str | None = None  # the last failure logged, not to log it every turn

    async def start(self) -> None:
        if self._task is not None:
            return
        await self._turn()
        self._task = asyncio.create_task(self._keep(), name="leader-lease")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._drop()  # the session ends: PostgreSQL releases the lock
        if self._leading:
            log.info("leadership given up")
            self._change(False)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.check if self._leading else self.retry)
            await self._turn()

    async def _turn(self) -> None:
        """A follower asks for the lock once; the leader checks that its session lives
        (a session lock is held until the session ends: a live session holds it)."""
        from psycopg import Error

        try:
            if self._conn is None or self._conn.closed:
                self._conn = await _connect(self.location, "lock")
            if self._leading:
                await _within(self._conn, self.answer, _ask(self._conn, "SELECT 1"))
            else:
                query = f"SELECT pg_try_advisory_lock({LEADER_LOCK})"
                if await _within(self._conn, self.answer, _ask(self._conn, query)):
                    log.info("this bot leads the bots on %s", self.location)
                    self._change(True)
            self._trouble = None
        except Exception as exc:
            await self._drop()
            reason = _first_line(exc)
            if not isinstance(exc, Error | OSError | TimeoutError):
                log.exception("the leader's lock could not be asked for or checked")
            if self._leading:
                log.warning("leadership lost: the lock's connection broke (%s)", reason)
                self._change(False)
            elif reason != self._trouble:
                log.warning(
                    "cannot ask %s for the leader's lock (%s); asking again every %g s",
                    self.location,
                    reason,
                    self.retry,
                )
            self._trouble = reason

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


class PostgresNotices(Notices):
    """LISTEN on one connection of its own while anyone listens; NOTIFY through the
    engine's writer (no connection more for a process that only sends)."""

    def __init__(self, db: Database, *, retry: float = FOLLOWER_RETRY_SECONDS) -> None:
        super().__init__()
        self.db = db
        self.retry = retry
        self._task: asyncio.Task[None] | None = None
        self._listening: asyncio.Future[None] | None = None

    async def listen(self, channel: str, heard: Heard) -> Callable[[], Awaitable[None]]:
        """As `Notices.listen`, once the server listens on `channel` (or the first try
        failed: the listener keeps trying every `retry` seconds)."""
        new = channel not in self._heard
        stop = await super().listen(channel, heard)
        if new or self._task is None:
            await self._restart()  # LISTEN waits behind a waiting notifies(): start anew
        return stop

    async def notify(self, channel: str, payload: str = "") -> None:
        await self.db.write(functools.partial(_notify, channel=channel, payload=payload))

    async def close(self) -> None:
        await super().close()
        await self._halt()

    async def _unlisten(self, channel: str, heard: Heard) -> None:
        await super()._unlisten(channel, heard)
        if not self._heard:
            await self._halt()  # the connection goes with its last listener

    async def _restart(self) -> None:
        """A new listening task; returns once its first connection listens or failed
        to, or it was halted first."""
        await self._halt()
        listening = self._listening = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._listen(listening), name="store-notices")
        await asyncio.shield(listening)

    async def _halt(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()  # before its first step, its body never runs: settled below
            await asyncio.gather(task, return_exceptions=True)
        if self._listening is not None:
            _settle(self._listening)

    async def _listen(self, listening: asyncio.Future[None]) -> None:
        from psycopg import Error, sql

        trouble: str | None = None
        while True:
            try:
                conn = await _connect(self.db.location, "notices")
                try:
                    for channel in list(self._heard):
                        statement = sql.SQL("LISTEN {}").format(sql.Identifier(channel))
                        await _within(conn, ANSWER_SECONDS, conn.execute(statement))
                    trouble = None
                    _settle(listening)
                    async for notice in conn.notifies():
                        self._deliver(notice.channel, notice.payload)
                finally:
                    await conn.close()
            except (Error, OSError, TimeoutError) as exc:
                reason = _first_line(exc)
                if reason != trouble:
                    log.warning(
                        "not listening for notices on %s (%s); trying again every %g s",
                        self.db.location,
                        reason,
                        self.retry,
                    )
                trouble = reason
            _settle(listening)
            await asyncio.sleep(self.retry)


def _notify(conn: Connection, channel: str, payload: str) -> None:
    conn.execute("SELECT pg_notify(?, ?)", (channel, payload))


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _connect(location: Location, purpose: str) -> AsyncConnection[Any]:
    """A connection of the leadership's own, autocommit, that notices a dead peer on
    both ends within seconds (`CLIENT_KEEPALIVES`, `SERVER_OPTIONS`). Options the
    URL gives are kept, ours after them."""
    from psycopg import AsyncConnection
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    url = location.url or ""
    given = str(conninfo_to_dict(url).get("options") or "")
    conninfo = make_conninfo(
        url,
        connect_timeout=CONNECT_SECONDS,
        application_name=f"digestbot-{purpose}",
        options=f"{given} {SERVER_OPTIONS}".strip(),
        **CLIENT_KEEPALIVES,
    )
    return await AsyncConnection.connect(conninfo, autocommit=True)


async def _ask(conn: AsyncConnection[Any], query: str) -> Any:
    """The first column of the first row `query` returns."""
    cursor = await conn.execute(query.encode())
    row = await cursor.fetchone()
    return None if row is None else row[0]


async def _within(conn: AsyncConnection[Any], seconds: float, work: Coroutine[Any, Any, T]) -> T:
    """`work` on `conn`, or TimeoutError after `seconds` with `conn` closed.

    Not `asyncio.timeout`: psycopg answers a cancelled query by asking the server
    to cancel it and waiting up to ten seconds more, on a connection that may be
    dead. Closing the connection first ends the wait at once."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait((task,), timeout=seconds)
    except asyncio.CancelledError:
        await conn.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    if not done:
        await conn.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise TimeoutError(f"no answer within {seconds:g} s")
    return task.result()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
