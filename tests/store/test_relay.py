"""The relay table (`bot.store.relay`): a follower's request is claimed once, while
its follower waits, answered, and taken; one a dead leader left in flight is sent
by the next; what no one will take is pruned. On both engines, and on PostgreSQL
each side hears of the other's row through the store's notices."""

from __future__ import annotations

import asyncio

from bot.store import relay
from bot.store.db import Database
from bot.store.leader import notices_for
from bot.store.retention import RELAY_KEPT, prune, prune_relay_batch

NOW = 1_750_000_000.0
WAIT = 30.0


async def _ask(
    db: Database, text: str = "hi", *, now: float = NOW, channel: str = "relay_x"
) -> int:
    return await relay.ask(
        db,
        method="sendMessage",
        params=f'{{"chat_id":7,"text":"{text}"}}',
        kind="reply",
        reply_to=channel,
        now=now,
        expires_at=now + WAIT,
    )


async def test_a_request_is_claimed_once_answered_and_taken_once(db: Database) -> None:
    first = await _ask(db, "one")
    second = await _ask(db, "two")
    claimed = await relay.claim(db, now=NOW + 1, limit=10)
    assert claimed == [
        relay.Relayed(first, "sendMessage", '{"chat_id":7,"text":"one"}', "reply", "relay_x"),
        relay.Relayed(second, "sendMessage", '{"chat_id":7,"text":"two"}', "reply", "relay_x"),
    ]
    assert await relay.claim(db, now=NOW + 1, limit=10) == []
    assert await relay.waiting(db) == 2

    assert await relay.take(db, first) is None  # not answered yet
    assert await relay.answer(db, first, '{"result":true}', NOW + 2)
    assert await relay.take(db, first) == '{"result":true}'
    assert await relay.take(db, first) is None  # taken: the row is gone
    assert not await relay.answer(db, first, '{"result":true}', NOW + 2)
    assert await relay.waiting(db) == 1


async def test_the_claim_takes_the_oldest_first_up_to_its_limit(db: Database) -> None:
    ids = [await _ask(db, str(n)) for n in range(5)]
    assert [row.id for row in await relay.claim(db, now=NOW, limit=2)] == ids[:2]
    assert [row.id for row in await relay.claim(db, now=NOW, limit=0)] == []
    assert [row.id for row in await relay.claim(db, now=NOW, limit=10)] == ids[2:]


async def test_a_request_whose_follower_stopped_waiting_is_never_sent(db: Database) -> None:
    late = await _ask(db, "late")
    assert await relay.claim(db, now=NOW + WAIT, limit=10) == []  # its wait is over
    given_up = await _ask(db, "given up")
    assert await relay.abandon(db, given_up, NOW + 1)
    claimed = await relay.claim(db, now=NOW + 1, limit=10)
    assert [row.id for row in claimed] == [late]
    # Claimed: the leader has it, the follower can no longer take it back.
    assert not await relay.abandon(db, late, NOW + 2)
    assert await relay.answer(db, late, '{"result":true}', NOW + 2)
    assert not await relay.answer(db, given_up, '{"result":true}', NOW + 2)
    assert await relay.take(db, given_up) is None


async def test_rows_a_dead_leader_had_in_flight_go_to_the_next(db: Database) -> None:
    left = await _ask(db, "left in flight")
    kept = await _ask(db, "put back")
    assert len(await relay.claim(db, now=NOW, limit=10)) == 2  # the leader that dies
    assert await relay.put_back(db, kept)  # it was stopping: this one was never made
    assert await relay.claim(db, now=NOW, limit=10) == [
        relay.Relayed(kept, "sendMessage", '{"chat_id":7,"text":"put back"}', "reply", "relay_x")
    ]
    assert await relay.reset_in_flight(db) == 2  # the next leader starts
    assert [row.id for row in await relay.claim(db, now=NOW + 1, limit=10)] == [left, kept]


async def test_a_late_answer_of_the_last_leader_still_counts(db: Database) -> None:
    row_id = await _ask(db)
    await relay.claim(db, now=NOW, limit=10)
    await relay.reset_in_flight(db)  # a new leader, before it claimed the row again
    assert await relay.answer(db, row_id, '{"result":{"message_id":1}}', NOW + 1)
    assert await relay.claim(db, now=NOW + 1, limit=10) == []  # not sent a second time
    assert await relay.take(db, row_id) == '{"result":{"message_id":1}}'


async def test_pruning_deletes_what_no_one_will_take(db: Database) -> None:
    old = NOW - RELAY_KEPT - WAIT - 1
    abandoned = await _ask(db, "abandoned", now=old)
    await relay.abandon(db, abandoned, old + 1)
    answered = await _ask(db, "answered late", now=old)
    await relay.claim(db, now=old, limit=10)
    await relay.answer(db, answered, '{"result":true}', old + 1)
    await _ask(db, "its follower stopped", now=old)
    waiting = await _ask(db, "waited for")
    assert await prune_relay_batch(db, NOW - RELAY_KEPT, limit=2) == 2
    report = await prune(db, int(NOW), outbox_days=30, audit_days=365)
    assert report.relay == 1
    assert [row.id for row in await relay.claim(db, now=NOW, limit=10)] == [waiting]


async def test_each_side_hears_of_the_others_row(postgres_url: str) -> None:
    db = await Database.open(postgres_url)
    notices = notices_for(db)
    heard: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    try:
        await notices.listen(relay.REQUESTS, lambda payload: heard.put_nowait(("leader", payload)))
        await notices.listen("relay_a1", lambda payload: heard.put_nowait(("follower", payload)))
        row_id = await _ask(db, channel="relay_a1")
        async with asyncio.timeout(10):
            assert await heard.get() == ("leader", str(row_id))
        await relay.claim(db, now=NOW, limit=10)
        await relay.answer(db, row_id, '{"result":true}', NOW + 1)
        async with asyncio.timeout(10):
            assert await heard.get() == ("follower", str(row_id))
    finally:
        await notices.close()
        await db.close()
