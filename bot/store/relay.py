"""The relay table: messages a bot that does not lead sends through the one that does.

Several bots on one PostgreSQL store share Telegram's limits, which only the
leader's rate limiter keeps; `bot.delivery.relay` says why and how a follower's
message goes through it. Here is what each side writes:

- the follower stores the request (`ask`), and the same statement tells the
  leader (a notice on `REQUESTS`, sent when the row commits, so the leader never
  looks before the row is there);
- the leader claims pending rows (`claim`), makes their requests, and stores each
  answer (`answer`), which notifies the follower on the channel the row names;
- the follower takes the answer, deleting the row (`take`), or, once it stops
  waiting, abandons a row the leader has not claimed (`abandon`), which is then
  never sent.

A row is never sent after `expires_at`, the end of its follower's wait. Rows a
leader left 'sending' when it died are pending again when the next one starts
(`reset_in_flight`), as the outbox's are; pruning deletes what no one will take
(`bot.store.retention`). Notices are PostgreSQL's own: on SQLite, with one bot
per file, which always leads, the table stays empty; the statements work there
alike for the store's tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bot.store.db import Database, Dialect

REQUESTS: Final = "relay_requests"
"""The notice channel the leader listens on for new rows (payload: the row's id)."""


@dataclass(frozen=True)
class Relayed:
    """A claimed row: the request to make, and where to say it was answered."""

    id: int
    method: str
    params: str  # a JSON object
    kind: str
    reply_to: str


_ASK: Final[Mapping[Dialect, str]] = {
    "sqlite": "INSERT INTO relay (method, params, kind, reply_to, created_at, expires_at)"
    " VALUES (:method, :params, :kind, :reply_to, :now, :expires_at) RETURNING id",
    "postgresql": "WITH asked AS ("
    " INSERT INTO relay (method, params, kind, reply_to, created_at, expires_at)"
    " VALUES (:method, :params, :kind, :reply_to, :now, :expires_at) RETURNING id)"
    f" SELECT id, pg_notify('{REQUESTS}', CAST(id AS text)) FROM asked",
}


async def ask(
    db: Database,
    *,
    method: str,
    params: str,
    kind: str,
    reply_to: str,
    now: float,
    expires_at: float,
) -> int:
    """Store a request for the leader to make (`params`: its parameters as a JSON
    object); returns the row's id. On PostgreSQL the leader hears of it on
    `REQUESTS` as the row commits."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            _ASK[db.dialect],
            {
                "method": method,
                "params": params,
                "kind": kind,
                "reply_to": reply_to,
                "now": now,
                "expires_at": expires_at,
            },
        )
        row = await cursor.fetchone()
    return int(row[0])


_CLAIM: Final[Mapping[Dialect, str]] = {
    "sqlite": "UPDATE relay SET state = 'sending', claimed_at = :now"
    " WHERE id IN (SELECT id FROM relay WHERE state = 'pending' AND expires_at > :now"
    " ORDER BY id LIMIT :limit)"
    " RETURNING id, method, params, kind, reply_to",
    # Two leaders never claim at once, but one that has just given the lead up
    # may still be claiming: rows another claim holds are passed over.
    "postgresql": "UPDATE relay SET state = 'sending', claimed_at = :now"
    " WHERE id IN (SELECT id FROM relay WHERE state = 'pending' AND expires_at > :now"
    " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)"
    " RETURNING id, method, params, kind, reply_to",
}


async def claim(db: Database, *, now: float, limit: int) -> list[Relayed]:
    """Mark up to `limit` pending rows whose follower still waits 'sending' and
    return them, oldest first."""
    if limit <= 0:
        return []
    async with db.transaction() as tx:
        cursor = await tx.execute(_CLAIM[db.dialect], {"now": now, "limit": limit})
        rows = list(await cursor.fetchall())
    claimed = [Relayed(row[0], row[1], row[2], row[3], row[4]) for row in rows]
    claimed.sort(key=lambda row: row.id)
    return claimed


_ANSWER: Final[Mapping[Dialect, str]] = {
    "sqlite": "UPDATE relay SET state = 'answered', answer = :answer, finished_at = :now"
    " WHERE id = :id AND state IN ('pending', 'sending') RETURNING id",
    "postgresql": "WITH answered AS ("
    " UPDATE relay SET state = 'answered', answer = :answer, finished_at = :now"
    " WHERE id = :id AND state IN ('pending', 'sending') RETURNING id, reply_to)"
    " SELECT id, pg_notify(reply_to, CAST(id AS text)) FROM answered",
}


async def answer(db: Database, row_id: int, answer: str, now: float) -> bool:
    """Store Telegram's answer to a row's request (JSON); on PostgreSQL its follower
    hears of it as the answer commits. A row put back to 'pending' meanwhile (a
    new leader started) takes the answer too: the message went, and is not sent
    again. False if the row is gone or was abandoned."""
    async with db.transaction() as tx:
        cursor = await tx.execute(_ANSWER[db.dialect], {"id": row_id, "answer": answer, "now": now})
        return len(list(await cursor.fetchall())) > 0


async def take(db: Database, row_id: int) -> str | None:
    """The answer to a row's request, deleting the row; None while it has none."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "DELETE FROM relay WHERE id = ? AND state = 'answered' RETURNING answer", (row_id,)
        )
        row = await cursor.fetchone()
    return None if row is None else str(row[0])


async def abandon(db: Database, row_id: int, now: float) -> bool:
    """The follower stops waiting: a row not claimed yet is never sent. False when
    the leader has it already (or has answered)."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "UPDATE relay SET state = 'abandoned', finished_at = ?"
            " WHERE id = ? AND state = 'pending'",
            (now, row_id),
        )
        return cursor.rowcount > 0


async def put_back(db: Database, row_id: int) -> bool:
    """A claimed row whose request was not made after all (the leader is stopping):
    pending again, for the next leader while its follower waits."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "UPDATE relay SET state = 'pending' WHERE id = ? AND state = 'sending'", (row_id,)
        )
        return cursor.rowcount > 0


async def reset_in_flight(db: Database) -> int:
    """When a leader starts: rows the last one left 'sending' are pending again
    (those whose follower no longer waits are never claimed). Only correct while
    one leader works on the store, as the outbox's `reset_in_flight`."""
    async with db.transaction() as tx:
        cursor = await tx.execute("UPDATE relay SET state = 'pending' WHERE state = 'sending'")
        return cursor.rowcount


async def waiting(db: Database) -> int:
    """Rows not answered yet, pending or at the leader."""
    value = await db.fetchval("SELECT count(*) FROM relay WHERE state IN ('pending', 'sending')")
    return int(value)
