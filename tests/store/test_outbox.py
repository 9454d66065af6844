"""The outbox store on a real SQLite file."""

from __future__ import annotations

import random

import pytest

from bot.store import outbox
from bot.store.chats import deactivate_chat, deactivate_target, migrate_chat, save_chat
from bot.store.db import Database
from bot.store.outbox import NewMessage


def text(chat_id: int, body: str = "hi", **fields: object) -> NewMessage:
    return NewMessage.text(chat_id, body, kind="digest", **fields)  # type: ignore[arg-type]


async def states(db: Database) -> dict[int, str]:
    rows = await db.fetchall("SELECT id, state FROM outbox ORDER BY id")
    return {row["id"]: row["state"] for row in rows}


async def new_broadcast(db: Database) -> int:
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO broadcasts (admin_id, admin_chat_id, audience, payload, state,"
            " created_at) VALUES (1, 1, 'all', '{}', 'sending', 0) RETURNING id"
        )
        return int((await cursor.fetchone())[0])


async def test_claim_takes_one_head_per_chat_in_priority_then_id_order(db: Database) -> None:
    await outbox.enqueue(
        db,
        [
            text(1, "a1"),
            text(2, "b1"),
            NewMessage.text(3, "c1", kind="broadcast"),
            text(1, "a2"),
            NewMessage.text(4, "d1", kind="notice"),
        ],
        now=100,
    )
    claimed = await outbox.claim(db, limit=10, now=100)
    assert [(row.chat_id, row.payload["text"]) for row in claimed] == [
        (4, "d1"),
        (1, "a1"),
        (2, "b1"),
        (3, "c1"),
    ]
    assert all(row.attempts == 1 for row in claimed)
    assert await outbox.claim(db, limit=10, now=100) == [], "chats in flight are skipped"

    await outbox.mark_sent(db, claimed[1].id, 77, now=101)
    (next_row,) = await outbox.claim(db, limit=10, now=101)
    assert next_row.payload["text"] == "a2"


async def test_a_chat_keeps_its_order_even_against_priority(db: Database) -> None:
    await outbox.enqueue(db, [text(1, "digest"), NewMessage.text(1, "notice", kind="notice")])
    first = await outbox.claim(db, limit=5, now=1e12)
    assert [row.payload["text"] for row in first] == ["digest"]
    await outbox.mark_sent(db, first[0].id, 1, now=0)
    second = await outbox.claim(db, limit=5, now=1e12)
    assert [row.payload["text"] for row in second] == ["notice"]


async def test_limit_not_before_and_excluded_chats(db: Database) -> None:
    await outbox.enqueue(db, [text(chat) for chat in range(1, 6)], now=0)
    await outbox.enqueue(db, [NewMessage(6, "digest", "sendMessage", {"text": "x"}, not_before=50)])
    assert len(await outbox.claim(db, limit=2, now=10)) == 2
    rest = await outbox.claim(db, limit=10, now=10, exclude_chats=[4])
    assert [row.chat_id for row in rest] == [3, 5]
    assert [row.chat_id for row in await outbox.claim(db, limit=10, now=10)] == [4]


async def test_future_row_is_claimed_once_due(db: Database) -> None:
    await outbox.enqueue(db, [NewMessage(9, "digest", "sendMessage", {"text": "x"}, not_before=50)])
    assert await outbox.claim(db, limit=1, now=49.9) == []
    assert await outbox.next_due(db, after=10) == 50
    assert await outbox.next_due(db, after=50) is None
    assert len(await outbox.claim(db, limit=1, now=50)) == 1


async def test_a_retry_holds_back_the_chat_s_later_messages(db: Database) -> None:
    await outbox.enqueue(db, [text(1, "first"), text(1, "second"), text(2, "other")])
    claimed = await outbox.claim(db, limit=5, now=10)
    first = next(row for row in claimed if row.chat_id == 1)
    assert await outbox.retry_later(db, first.id, not_before=20, error="Timed out")
    assert [row.chat_id for row in await outbox.claim(db, limit=5, now=15)] == []
    (again,) = await outbox.claim(db, limit=5, now=20)
    assert again.id == first.id
    assert again.attempts == 2
    row = await db.fetchone("SELECT last_error FROM outbox WHERE id = ?", (first.id,))
    assert row is not None
    assert row["last_error"] == "Timed out"


async def test_outcomes_are_written_to_the_row(db: Database) -> None:
    await outbox.enqueue(db, [text(1), text(2), text(3)])
    one, two, three = await outbox.claim(db, limit=5, now=10)
    assert await outbox.mark_sent(db, one.id, 555, now=11)
    assert await outbox.mark_failed(db, two.id, "Bad Request: can't parse entities", now=12)
    assert not await outbox.mark_failed(db, two.id, "again", now=13), "final states stay"
    assert not await outbox.retry_later(db, one.id, 20, "late"), "a sent row is not retried"
    rows = await db.fetchall("SELECT * FROM outbox ORDER BY id")
    assert (rows[0]["state"], rows[0]["telegram_message_id"], rows[0]["finished_at"]) == (
        "sent",
        555,
        11,
    )
    assert (rows[1]["state"], rows[1]["last_error"]) == (
        "failed",
        "Bad Request: can't parse entities",
    )
    assert rows[2]["state"] == "sending"
    assert three.id == rows[2]["id"]


async def test_reset_in_flight_makes_claimed_rows_pending_again(db: Database) -> None:
    await outbox.enqueue(db, [text(1), text(2)])
    claimed = await outbox.claim(db, limit=5, now=10)
    await outbox.mark_sent(db, claimed[0].id, 1, now=10)
    assert await outbox.reset_in_flight(db) == 1
    assert list((await states(db)).values()) == ["sent", "pending"]
    assert await outbox.depth(db) == 1


async def test_enqueue_tx_is_part_of_the_caller_s_transaction(db: Database) -> None:
    async def enqueue_then_fail() -> None:
        async with db.transaction() as tx:
            assert await outbox.enqueue_tx(tx, [text(1), text(2)]) == 2
            raise RuntimeError("cursor update failed")

    with pytest.raises(RuntimeError):
        await enqueue_then_fail()
    assert await outbox.depth(db) == 0
    async with db.transaction() as tx:
        await outbox.enqueue_tx(tx, [text(1)])
    assert await outbox.depth(db) == 1


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (NewMessage(1, "spam", "sendMessage", {"text": "x"}), "kind"),  # type: ignore[arg-type]
        (NewMessage(1, "digest", "deleteMessage", {}), "cannot make"),
        (NewMessage(1, "digest", "sendMessage", {"chat_id": 2, "text": "x"}), "chat_id"),
        (NewMessage(1, "digest", "sendMessage", {"message_thread_id": 2}), "message_thread_id"),
    ],
)
async def test_bad_messages_are_refused(db: Database, message: NewMessage, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        await outbox.enqueue(db, [message])
    assert await outbox.depth(db) == 0


async def test_payload_round_trips_and_kinds_get_default_priorities(db: Database) -> None:
    await outbox.enqueue(
        db,
        [
            NewMessage.text(
                1, "<b>¡Hola!</b>", kind="notice", reply_markup={"inline_keyboard": []}
            ),
            NewMessage.copy(2, from_chat_id=-5, message_id=9, broadcast_id=None, thread_id=3),
            NewMessage.text(3, "x", kind="post", priority=1),
        ],
    )
    rows = {row.chat_id: row for row in await outbox.claim(db, limit=5, now=1e12)}
    assert rows[1].payload == {
        "text": "<b>¡Hola!</b>",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": []},
    }
    assert (rows[1].priority, rows[2].priority, rows[3].priority) == (
        outbox.NOTICE,
        outbox.BROADCAST,
        1,
    )
    assert rows[2].method == "copyMessage"
    assert rows[2].thread_id == 3
    assert outbox.NOTICE < outbox.DIGEST == outbox.POST < outbox.BROADCAST


async def test_cancel_broadcast_and_progress(db: Database) -> None:
    broadcast = await new_broadcast(db)
    await outbox.enqueue(
        db,
        [
            NewMessage.copy(chat, from_chat_id=1, message_id=5, broadcast_id=broadcast)
            for chat in range(10, 16)
        ]
        + [text(99)],
    )
    claimed = await outbox.claim(db, limit=4, now=1e12, exclude_chats=[99])
    await outbox.mark_sent(db, claimed[0].id, 1, now=1)
    await outbox.mark_failed(db, claimed[1].id, "bad", now=1)
    await deactivate_chat(db, claimed[2].chat_id, "Forbidden: bot was blocked by the user")
    assert await outbox.broadcast_progress(db, broadcast) == outbox.BroadcastProgress(
        sent=1, dropped=1, failed=1, remaining=3
    )
    assert await outbox.cancel_broadcast(db, broadcast, now=2) == 2
    progress = await outbox.broadcast_progress(db, broadcast)
    assert progress == outbox.BroadcastProgress(
        sent=1, dropped=1, failed=1, cancelled=2, remaining=1
    )
    assert (progress.total, progress.done) == (6, False)
    assert (
        await db.fetchval("SELECT state FROM broadcasts WHERE id = ?", (broadcast,)) == "cancelled"
    )

    await outbox.mark_sent(db, claimed[3].id, 2, now=3)
    assert (await outbox.broadcast_progress(db, broadcast)).done
    assert await outbox.depth(db) == 1, "the other chat's digest is untouched"


async def test_delivery_counts_since(db: Database) -> None:
    await outbox.enqueue(db, [text(chat) for chat in range(1, 5)])
    one, two, three, four = await outbox.claim(db, limit=5, now=1e12)
    await outbox.mark_sent(db, one.id, 1, now=100)
    await outbox.mark_sent(db, two.id, 1, now=200)
    await outbox.mark_failed(db, three.id, "x", now=200)
    await outbox.retry_later(db, four.id, 0, "Timed out")
    assert await outbox.delivery_counts(db, since=150) == outbox.DeliveryCounts(sent=1, failed=1)
    assert await outbox.delivery_counts(db, since=0) == outbox.DeliveryCounts(sent=2, failed=1)


async def test_chat_helpers_act_on_the_outbox(db: Database) -> None:
    await save_chat(db, chat_id=-100, type="supergroup", title="Forum", is_forum=True, now=0)
    await outbox.enqueue(
        db, [text(-100, "topic", thread_id=7), text(-100, "general"), text(-200, "old group")]
    )
    assert await deactivate_target(db, -100, 7, "Bad Request: message thread not found") == 1
    await migrate_chat(db, -200, -300)
    claimed = await outbox.claim(db, limit=5, now=1e12)
    assert sorted((row.chat_id, row.payload["text"]) for row in claimed) == [
        (-300, "old group"),
        (-100, "general"),
    ]
    assert await deactivate_chat(db, -100, "Forbidden: bot was kicked") == 1
    assert sorted((await states(db)).values()) == ["dropped", "dropped", "sending"]


@pytest.mark.parametrize("seed", range(5))
async def test_random_claiming_delivers_each_row_once_in_chat_order(
    db: Database, seed: int
) -> None:
    rng = random.Random(seed)
    messages = [text(rng.randint(1, 8), str(i)) for i in range(60)]
    messages += [NewMessage.text(rng.randint(1, 8), f"n{i}", kind="notice") for i in range(10)]
    await outbox.enqueue(db, messages)
    delivered: list[tuple[int, int]] = []
    in_flight: list[outbox.OutboxRow] = []
    while await outbox.depth(db):
        in_flight += await outbox.claim(db, limit=rng.randint(1, 4), now=1e12)
        rng.shuffle(in_flight)
        for _ in range(rng.randint(0, len(in_flight))):
            row = in_flight.pop()
            if rng.random() < 0.2:
                await outbox.retry_later(db, row.id, 0, "Timed out")
            else:
                await outbox.mark_sent(db, row.id, 1, now=1)
                delivered.append((row.chat_id, row.id))
    assert sorted(row_id for _, row_id in delivered) == list(range(1, 71))
    for chat in range(1, 9):
        ids = [row_id for c, row_id in delivered if c == chat]
        assert ids == sorted(ids)


async def test_recent_sends_name_chats_written_to_lately_or_left_in_flight(db: Database) -> None:
    await outbox.enqueue(db, [text(chat) for chat in (1, 2, 3, 4)])
    one, two, three, _ = await outbox.claim(db, limit=4, now=1e12)
    await outbox.mark_sent(db, one.id, 1, now=100.4)
    await outbox.mark_sent(db, two.id, 1, now=50)
    await outbox.mark_failed(db, three.id, "x", now=100)
    assert await outbox.recent_sends(db, since=90) == {1: 101.0, 4: float("inf")}
