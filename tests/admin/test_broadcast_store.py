"""Broadcast rows in the store: who is in an audience, confirming once, at scale."""

from __future__ import annotations

import time

from bot.runtime import Content
from bot.store import admin, broadcasts, chats, outbox, subscriptions
from bot.store.broadcasts import Recipients
from bot.store.db import Database


async def _chat(db: Database, chat_id: int, *, thread: int = 0, language: str = "en") -> int:
    await chats.save_chat(db, chat_id=chat_id, type="supergroup", title="x", now=0)
    target = await chats.ensure_target(
        db, chat_id, thread, ui_language=language, timezone="UTC", now=0
    )
    return target.id


async def _draft(db: Database) -> int:
    made = await broadcasts.create_draft(
        db,
        admin_id=1,
        admin_chat_id=1,
        audience="all",
        method="sendMessage",
        params={"text": "hi", "parse_mode": "HTML"},
        now=0,
    )
    return made.id


async def test_audiences_one_row_per_chat(content: Content) -> None:
    db = content.db
    await _chat(db, -100, language="es")
    topic = await _chat(db, -100, thread=7, language="en")
    only_topic = await _chat(db, -200, thread=9, language="es")
    await _chat(db, 300)
    gone = await _chat(db, 400)
    await chats.deactivate_chat(db, 400, "blocked")
    for target in (topic, only_topic, gone):
        await subscriptions.add(db, target, "topic", "migration", 0)

    assert await broadcasts.count_recipients(db, Recipients()) == 3
    assert await broadcasts.count_recipients(db, Recipients(language="es")) == 2
    assert await broadcasts.count_recipients(db, Recipients(("migration",))) == 2
    assert await broadcasts.count_recipients(db, Recipients(("migration",), "es")) == 1
    assert await broadcasts.count_recipients(db, Recipients(("video", "history"))) == 0

    draft = await _draft(db)
    assert await broadcasts.confirm(db, draft, Recipients(("migration",)), admin_id=1, now=5) == 2
    rows = await outbox.claim(db, limit=10, now=time.time())
    assert sorted((row.chat_id, row.thread_id) for row in rows) == [(-200, 9), (-100, 7)]
    assert {row.broadcast_id for row in rows} == {draft}
    assert {row.kind for row in rows} == {"broadcast"}


async def test_confirm_is_once_and_cancel_of_a_draft_queues_nothing(content: Content) -> None:
    db = content.db
    await _chat(db, 10)
    first, second = await _draft(db), await _draft(db)
    assert await broadcasts.confirm(db, first, Recipients(), admin_id=1, now=1) == 1
    assert await broadcasts.confirm(db, first, Recipients(), admin_id=1, now=2) is None
    assert await broadcasts.cancel(db, second, admin_id=1, now=3) == 0
    assert await broadcasts.confirm(db, second, Recipients(), admin_id=1, now=4) is None
    assert await outbox.depth(db) == 1
    assert [(e.action, e.recipients) for e in await admin.audit_entries(db)] == [
        ("broadcast_cancel", 0),
        ("broadcast", 1),
    ]
    assert [b.id for b in await broadcasts.unreported(db)] == [first]
    assert await broadcasts.finish(db, first, now=9)
    await broadcasts.mark_reported(db, first, now=9)
    assert await broadcasts.unreported(db) == []


async def test_twenty_thousand_recipients_are_queued_in_one_short_transaction(
    content: Content,
) -> None:
    db = content.db
    count = 20_000
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO chats (chat_id, type, created_at, updated_at) VALUES (?, 'private', 0, 0)",
            [(i,) for i in range(1, count + 1)],
        )
        await tx.executemany(
            "INSERT INTO targets (chat_id, created_at) VALUES (?, 0)",
            [(i,) for i in range(1, count + 1)],
        )
    draft = await _draft(db)
    started = time.perf_counter()
    assert await broadcasts.confirm(db, draft, Recipients(), admin_id=1, now=0) == count
    elapsed = time.perf_counter() - started
    # About 0.25 s here; one transaction per row would take tens of seconds.
    assert elapsed < 10, elapsed
    progress = await outbox.broadcast_progress(db, draft)
    assert progress.remaining == count


async def test_a_paid_broadcast_is_kept_paid_and_claimed_on_its_own_budget(
    content: Content,
) -> None:
    db = content.db
    for chat_id in range(10, 16):
        await _chat(db, chat_id)
    free, paid = await _draft(db), await _draft(db)
    assert await broadcasts.confirm(db, free, Recipients(), admin_id=1, now=5) == 6
    assert await broadcasts.confirm(db, paid, Recipients(), admin_id=1, now=6, paid=True) == 6
    stored = await broadcasts.get(db, paid)
    assert stored is not None
    assert stored.paid
    assert not (await broadcasts.get(db, free) or stored).paid
    entries = await admin.audit_entries(db)
    assert {e.detail for e in entries} == {
        f"#{free} all sendMessage",
        f"#{paid} all sendMessage paid",
    }

    # Each chat's head is the free copy (queued first): the paid budget gets nothing yet.
    now = time.time()
    first = await outbox.claim(db, limit=2, now=now, paid_limit=5)
    assert [(row.broadcast_id, row.paid) for row in first] == [(free, False)] * 2
    # Once those are sent, their chats' paid copies are heads: a claim takes up to
    # `paid_limit` of them besides `limit` free ones, whatever the free queue holds.
    await outbox.mark_sent_many(db, [(row.id, 1) for row in first], now)
    second = await outbox.claim(db, limit=1, now=now, paid_limit=5)
    assert sorted((row.broadcast_id, row.paid) for row in second) == [
        (free, False),
        (paid, True),
        (paid, True),
    ]
    # Without a paid budget, paid copies are rows like any other, last in line.
    await outbox.reset_in_flight(db)
    plain = await outbox.claim(db, limit=10, now=now)
    assert [row.broadcast_id for row in plain] == [free] * 4 + [paid] * 2


async def test_pauses_add_up_and_overlaps_count_once(content: Content) -> None:
    db = content.db
    draft = await _draft(db)
    assert await broadcasts.note_pause(db, draft, now=100.0, until=103.0) == 3.0
    assert await broadcasts.note_pause(db, draft, now=100.5, until=103.0) == 3.0
    assert await broadcasts.note_pause(db, draft, now=102.0, until=105.0) == 5.0
    assert await broadcasts.note_pause(db, draft, now=110.0, until=111.0) == 6.0
    stored = await broadcasts.get(db, draft)
    assert stored is not None
    assert stored.paused_seconds == 6.0
