"""The outbox on PostgreSQL with several processes at once: each `Database` here
has connections of its own, as a bot process has, on one shared database."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.store import outbox, retention
from bot.store.db import Database
from bot.store.outbox import NewMessage
from tests.postgres import Server

_numbers = itertools.count(1)

Open = Callable[[], Awaitable[Database]]

GUARD = 60.0
"""Seconds a wait may take before the test fails instead of hanging: a guard, not
a measurement."""


@pytest.fixture
async def processes(postgres: Server, migrated_template: str) -> AsyncIterator[Open]:
    """Opens another `Database` on one fresh store, as another process would."""
    name = f"processes_{next(_numbers)}"
    postgres.psql(f"CREATE DATABASE {name} TEMPLATE {migrated_template}")
    opened: list[Database] = []

    async def open_one() -> Database:
        database = await Database.open(postgres.url(name))
        opened.append(database)
        return database

    try:
        yield open_one
    finally:
        for database in opened:
            await database.close()


async def test_two_processes_claiming_at_once_never_share_a_row(processes: Open) -> None:
    first, second = await processes(), await processes()
    rng = random.Random(7)
    messages = [
        NewMessage.text(rng.randint(1, 40), f"m{i}", kind=rng.choice(["digest", "notice"]))
        for i in range(600)
    ]
    await outbox.enqueue(first, messages, now=0)
    queued = {row[0] for row in await first.fetchall("SELECT id FROM outbox")}

    claims: list[int] = []  # every row id as a claim returned it, both processes
    by_chat: dict[int, list[int]] = defaultdict(list)
    in_flight: dict[int, int] = {}  # chat: the row claimed for it and not yet marked

    async def sender(db: Database, seed: int) -> None:
        pick = random.Random(seed)
        while await outbox.depth(db):
            rows = await outbox.claim(db, limit=pick.randint(1, 8), now=1e12)
            for row in rows:
                assert row.chat_id not in in_flight, "two of a chat's rows in flight at once"
                in_flight[row.chat_id] = row.id
                claims.append(row.id)
                by_chat[row.chat_id].append(row.id)
            if not rows:
                await asyncio.sleep(0)
                continue
            await outbox.depth(db)  # in flight for a while: the other one claims meanwhile
            for row in rows:
                del in_flight[row.chat_id]
            # Marked together, as the sender's group commit does.
            await outbox.mark_sent_many(db, [(row.id, 1) for row in rows], now=1)

    await asyncio.wait_for(asyncio.gather(sender(first, 1), sender(second, 2)), GUARD)
    assert len(claims) == len(set(claims)), "a row was claimed twice"
    assert set(claims) == queued, "every row is claimed once"
    for ids in by_chat.values():
        assert ids == sorted(ids), "a chat's rows go in the order queued"
    assert await first.fetchval("SELECT max(attempts) FROM outbox") == 1


async def test_a_chat_s_rows_queued_at_once_from_two_processes_keep_their_order(
    processes: Open,
) -> None:
    """The earlier row's transaction is still open when the later one queues: the
    later waits its turn, so no claim can see the later row without the earlier."""
    first, second, sender = await processes(), await processes(), await processes()

    async with first.transaction() as tx:
        await outbox.enqueue_tx(tx, [NewMessage.text(1, "earlier", kind="digest")], now=0)
        later = asyncio.create_task(
            outbox.enqueue(second, [NewMessage.text(1, "later", kind="digest")], now=0)
        )
        waiting = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        async with asyncio.timeout(GUARD):  # until the later one waits, or is done
            for _ in itertools.count():
                if later.done() or await sender.fetchval(waiting):
                    break
                await asyncio.sleep(0.01)
        # Either way, a claim now must not go ahead of the open transaction.
        assert await outbox.claim(sender, limit=5, now=1e12) == []
    await asyncio.wait_for(later, GUARD)

    (head,) = await outbox.claim(sender, limit=5, now=1e12)
    assert head.payload["text"] == "earlier"
    assert await outbox.claim(sender, limit=5, now=1e12) == []
    await outbox.mark_sent(sender, head.id, 1, now=1)
    (then,) = await outbox.claim(sender, limit=5, now=1e12)
    assert then.payload["text"] == "later"


async def test_a_prune_leaves_a_part_a_queueing_process_has_found(processes: Open) -> None:
    """A shared part no row refers to, found again by a producer whose rows are not
    committed yet: a prune from another process passes over it, without waiting."""
    producer, pruner = await processes(), await processes()
    part = outbox.SharedPart.text(outbox.encode_text("a page many chats get"))
    page = NewMessage.text(1, "a page many chats get", kind="digest", shared=part)
    await outbox.enqueue(producer, [page], now=0)
    await producer.write(lambda conn: conn.execute("DELETE FROM outbox"))

    async with producer.transaction() as tx:
        await outbox.enqueue_tx(tx, [page], now=0)
        pruned = await asyncio.wait_for(retention.prune_payloads_batch(pruner), GUARD)
        assert pruned == 0
    (row,) = await outbox.claim(pruner, limit=5, now=1e12)
    assert row.payload["text"] == "a page many chats get"
    assert await pruner.fetchval("SELECT count(*) FROM outbox_payloads") == 1

    await outbox.mark_sent(pruner, row.id, 1, now=1)
    await pruner.write(lambda conn: conn.execute("DELETE FROM outbox"))
    assert await retention.prune_payloads_batch(pruner) == 1, "unused once nothing refers to it"


async def test_two_processes_storing_one_part_at_once_store_it_once(processes: Open) -> None:
    first, second = await processes(), await processes()

    async def queue(db: Database, chats: range) -> None:
        for chat in chats:
            part = outbox.SharedPart.text(outbox.encode_text(f"page {chat % 5}"))
            message = NewMessage.text(chat, f"page {chat % 5}", kind="digest", shared=part)
            await outbox.enqueue(db, [message], now=0)

    await asyncio.wait_for(
        asyncio.gather(queue(first, range(0, 100)), queue(second, range(100, 200))), GUARD
    )
    assert await first.fetchval("SELECT count(*) FROM outbox_payloads") == 5
    claimed = await outbox.claim(second, limit=500, now=1e12)
    assert sorted((row.chat_id, row.payload["text"]) for row in claimed) == [
        (chat, f"page {chat % 5}") for chat in range(200)
    ]


async def test_a_claim_walks_the_queue_in_order_whatever_the_statistics_say(
    processes: Open,
) -> None:
    """Statistics taken while the queue was empty, then a broadcast's rows: the
    candidates still come from the queue's index, in order, page by page, never
    from every pending row read and sorted."""
    db = await processes()
    await db.write(lambda conn: conn.execute("ALTER TABLE outbox SET (autovacuum_enabled = off)"))
    await db.write(lambda conn: conn.execute("ANALYZE outbox"))
    await outbox.enqueue(db, [NewMessage.text(chat, "x", kind="digest") for chat in range(20_000)])

    async with db.transaction() as tx:
        await tx.execute(outbox._WALK_THE_QUEUE)
        cursor = await tx.execute(
            "EXPLAIN " + outbox._CANDIDATES_POSTGRESQL,
            {"now": 1e12, "priority": 0, "id": 0, "below": 2**62, "exclude": [], "page": 46},
        )
        plan = "\n".join(row[0] for row in await cursor.fetchall())
    assert "Index Scan using outbox_queue" in plan, plan
    assert "Sort" not in plan, plan
    assert len(await outbox.claim(db, limit=30, now=1e12)) == 30
