"""Forgetting on schedule: finished outbox rows, old audit entries, spent broadcasts,
digest texts no row refers to any more, relayed requests no one will take.

Without it the outbox grows by every message the bot ever sent. Deletes go in
batches, each its own short write transaction, so a prune after a month of
100,000-chat broadcasts never holds the writer (and every reply waiting on it)
for long. What /stats reads of the deleted rows, how many ended each way on
each day, moves to `outbox_daily` in the very transaction that deletes them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from bot.store.db import Database, Dialect

DAY = 24 * 3600
BATCH = 1000
RELAY_KEPT = DAY
"""How long a relayed request (`bot.store.relay`) stays once its follower stopped
waiting: a day to look into, then it goes."""


@dataclass(frozen=True)
class PruneReport:
    outbox: int = 0  # finished outbox rows deleted
    audit: int = 0  # audit entries deleted
    broadcasts: int = 0  # drafts and finished broadcasts deleted
    payloads: int = 0  # shared request parts no outbox row refers to any more
    relay: int = 0  # relayed requests whose follower stopped waiting


def day_start(moment: int) -> int:
    """UTC midnight at or before `moment` (Unix seconds)."""
    return moment - moment % DAY


_COUNT_DAILY: Final[Mapping[Dialect, str]] = {
    "sqlite": "INSERT INTO outbox_daily (day, kind, state, count) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (day, kind, state) DO UPDATE SET count = count + excluded.count",
    # PostgreSQL reads a bare `count` there as either row's: it must be named.
    "postgresql": "INSERT INTO outbox_daily (day, kind, state, count) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (day, kind, state) DO UPDATE SET count = outbox_daily.count + excluded.count",
}


async def prune_outbox_batch(db: Database, before: int, limit: int = BATCH) -> int:
    """Delete up to `limit` finished rows that finished before `before`, oldest first,
    counting them into `outbox_daily`. Returns how many went."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "DELETE FROM outbox WHERE id IN ("
            " SELECT id FROM outbox WHERE finished_at IS NOT NULL AND finished_at < ?"
            " AND state NOT IN ('pending', 'sending') ORDER BY finished_at LIMIT ?)"
            " RETURNING finished_at, kind, state",
            (before, limit),
        )
        counts = Counter(
            (day_start(finished_at), kind, state)
            for finished_at, kind, state in await cursor.fetchall()
        )
        await tx.executemany(
            _COUNT_DAILY[db.dialect],
            [(day, kind, state, count) for (day, kind, state), count in counts.items()],
        )
    return sum(counts.values())


async def prune_audit_batch(db: Database, before: int, limit: int = BATCH) -> int:
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "DELETE FROM audit_log WHERE id IN"
            " (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ?)",
            (before, limit),
        )
        return cursor.rowcount


async def prune_broadcasts(db: Database, before: int) -> int:
    """Drafts never confirmed, and broadcasts finished and reported, from before
    `before` once none of their copies is left in the outbox."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "DELETE FROM broadcasts AS b WHERE ("
            "  (b.state = 'draft' AND b.created_at < :before)"
            "  OR (b.state IN ('done', 'cancelled') AND b.finished_at < :before"
            "      AND (b.reported_at IS NOT NULL OR b.confirmed_at IS NULL)))"
            " AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.broadcast_id = b.id)",
            {"before": before},
        )
        return cursor.rowcount


async def prune_payloads_batch(db: Database, limit: int = BATCH) -> int:
    """Delete up to `limit` shared request parts (`outbox.SharedPart`) that no row
    refers to, once their rows are pruned. A producer finds a part and queues the
    rows that refer to it in one transaction, so none is deleted in between; one
    queued later is simply stored again. A part has no age of its own: it goes
    with its last row."""
    if db.dialect == "postgresql":
        return await _prune_payloads_batch_postgresql(db, limit)
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "DELETE FROM outbox_payloads WHERE id IN ("
            " SELECT p.id FROM outbox_payloads AS p"
            " WHERE NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.payload_id = p.id) LIMIT ?)",
            (limit,),
        )
        return cursor.rowcount


async def _prune_payloads_batch_postgresql(db: Database, limit: int) -> int:
    """`prune_payloads_batch` while other processes queue rows. A producer's rows
    are not seen until it commits, so a part that seems unused may be about to be
    used: the parts are locked first, passing over those a producer holds (it
    locks the parts it finds; those it stores are not seen before it commits),
    then deleted by a second statement, which sees every row committed until it
    began. A producer that comes for a part locked here waits, and stores it
    again if it went."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "SELECT p.id FROM outbox_payloads AS p"
            " WHERE NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.payload_id = p.id)"
            " LIMIT ? FOR UPDATE SKIP LOCKED",
            (limit,),
        )
        ids = [row[0] for row in await cursor.fetchall()]
        if not ids:
            return 0
        cursor = await tx.execute(
            "DELETE FROM outbox_payloads AS p WHERE p.id = ANY(?)"
            " AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.payload_id = p.id)",
            (ids,),
        )
        return cursor.rowcount


async def prune_relay_batch(db: Database, before: float, limit: int = BATCH) -> int:
    """Delete up to `limit` relayed requests whose follower stopped waiting before
    `before`. A follower takes (deletes) each answer it gets: what is left is what
    no one will take: requests abandoned, answered after their follower gave up,
    or left by a follower that stopped."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "DELETE FROM relay WHERE id IN"
            " (SELECT id FROM relay WHERE expires_at < ? ORDER BY id LIMIT ?)",
            (before, limit),
        )
        return cursor.rowcount


async def _in_batches(
    prune_batch: Callable[[Database, int, int], Awaitable[int]],
    db: Database,
    before: int,
    batch: int,
) -> int:
    """Batch after batch until one comes back short, letting other writers in between."""
    total = 0
    while True:
        deleted = await prune_batch(db, before, batch)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)


async def prune(
    db: Database,
    now: int,
    *,
    outbox_days: int,
    audit_days: int,
    batch: int = BATCH,
) -> PruneReport:
    """Delete what is past its retention at `now`. Cut-offs fall on UTC midnight, so
    the days rolled up into `outbox_daily` are whole days."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    outbox_before = day_start(now - outbox_days * DAY)
    audit_before = now - audit_days * DAY
    return PruneReport(
        outbox=await _in_batches(prune_outbox_batch, db, outbox_before, batch),
        audit=await _in_batches(prune_audit_batch, db, audit_before, batch),
        broadcasts=await prune_broadcasts(db, outbox_before),
        payloads=await _in_batches(
            lambda db, _, limit: prune_payloads_batch(db, limit), db, outbox_before, batch
        ),
        relay=await _in_batches(prune_relay_batch, db, now - RELAY_KEPT, batch),
    )
