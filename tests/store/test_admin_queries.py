"""What admins read and do, on both engines: audiences, /stats' queries, a
broadcast's pauses and /ingest's feeds, from rows written as the bot writes them."""

from __future__ import annotations

from bot.store import admin, broadcasts, chats, outbox
from bot.store.broadcasts import Recipients
from bot.store.db import Database
from bot.store.retention import DAY

NOW = 1_750_000_000 - 1_750_000_000 % DAY  # a UTC midnight


async def _target(
    db: Database, chat_id: int, thread: int = 0, *, language: str = "en", at: int = 0
) -> int:
    await chats.save_chat(db, chat_id=chat_id, type="supergroup", title="x", now=at)
    target = await chats.ensure_target(
        db, chat_id, thread, ui_language=language, timezone="UTC", now=at
    )
    return target.id


async def _subscribe(db: Database, target_id: int, topic: str, at: int) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO subscriptions (target_id, kind, value, created_at)"
            " VALUES (?, 'topic', ?, ?)",
            (target_id, topic, at),
        )


async def _deactivate(db: Database, chat_id: int) -> None:
    """As a chat that blocked the bot is left: it and its targets inactive."""
    async with db.transaction() as tx:
        await tx.execute("UPDATE chats SET active = 0 WHERE chat_id = ?", (chat_id,))
        await tx.execute("UPDATE targets SET active = 0 WHERE chat_id = ?", (chat_id,))


async def test_an_audience_is_one_row_per_chat_its_own_target_first(db: Database) -> None:
    await _target(db, -100, language="es")
    topic = await _target(db, -100, 7)
    only_topic = await _target(db, -200, 9, language="es")
    await _target(db, 300)
    gone = await _target(db, 400)
    await _deactivate(db, 400)
    for target in (topic, only_topic, gone):
        await _subscribe(db, target, "migration", 0)

    assert await broadcasts.count_recipients(db, Recipients()) == 3
    assert await broadcasts.count_recipients(db, Recipients(language="es")) == 2
    assert await broadcasts.count_recipients(db, Recipients(("migration",))) == 2
    assert await broadcasts.count_recipients(db, Recipients(("migration", "video"), "es")) == 1
    assert await broadcasts.count_recipients(db, Recipients(("video", "history"))) == 0

    for recipients, expected in [
        (Recipients(), [(-200, 9), (-100, 0), (300, 0)]),
        (Recipients(("migration",)), [(-200, 9), (-100, 7)]),
    ]:
        draft = await broadcasts.create_draft(
            db,
            admin_id=1,
            admin_chat_id=1,
            audience="all",
            method="sendMessage",
            params={"text": "hi", "parse_mode": "HTML"},
            now=0,
        )
        assert await broadcasts.confirm(db, draft.id, recipients, admin_id=1, now=5) == len(
            expected
        )
        rows = await db.fetchall(
            "SELECT chat_id, thread_id FROM outbox WHERE broadcast_id = ? ORDER BY id",
            (draft.id,),
        )
        assert [(row[0], row[1]) for row in rows] == expected, "queued in chat order"
        await outbox.cancel_broadcast(db, draft.id, now=6)
    entries = await admin.audit_entries(db)
    assert [(e.action, e.recipients) for e in entries] == [("broadcast", 2), ("broadcast", 3)]


async def test_stats_read_the_same_on_either_engine(db: Database) -> None:
    first = await _target(db, 1, at=NOW - 3 * DAY)
    second = await _target(db, 2, language="es", at=NOW - DAY)
    third = await _target(db, 3, language="es", at=NOW - DAY)
    await _target(db, 4)  # follows nothing
    await _subscribe(db, first, "migration", NOW - 3 * DAY + 5)
    await _subscribe(db, first, "video", NOW - DAY)
    await _subscribe(db, second, "migration", NOW - DAY + 7)
    await _subscribe(db, third, "video", NOW - 1)
    await _deactivate(db, 3)

    assert await admin.chat_counts(db) == [
        admin.ChatCount("supergroup", False, 1),
        admin.ChatCount("supergroup", True, 3),
    ]
    assert await admin.language_counts(db) == {"en": 2, "es": 1}
    assert await admin.subscribers_before(db, NOW - DAY) == 1
    assert await admin.subscribers_before(db, NOW) == 2, "an inactive target is left out"
    assert await admin.new_subscribers_per_day(db, since=NOW - 10 * DAY) == {
        "2025-06-12": 1,
        "2025-06-14": 1,
    }
    assert await admin.new_subscribers_per_day(db, since=NOW - 2 * DAY) == {"2025-06-14": 1}


async def test_pauses_that_overlap_count_once(db: Database) -> None:
    draft = await broadcasts.create_draft(
        db,
        admin_id=1,
        admin_chat_id=1,
        audience="all",
        method="sendMessage",
        params={"text": "hi"},
        now=0,
    )
    assert await broadcasts.note_pause(db, draft.id, now=100.0, until=110.5) == 10.5
    assert await broadcasts.note_pause(db, draft.id, now=101.0, until=108.0) == 10.5
    assert await broadcasts.note_pause(db, draft.id, now=105.0, until=112.0) == 12.0
    assert await broadcasts.note_pause(db, draft.id, now=200, until=201) == 13.0
    stored = await broadcasts.get(db, draft.id)
    assert stored is not None
    assert stored.paused_seconds == 13.0


async def test_ingest_makes_every_polled_feed_due(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO feeds (url, added_at, next_poll_at, removed_at) VALUES (?, 0, ?, ?)",
            [
                ("https://a.example/feed", NOW + 600, None),
                ("https://b.example/feed", NOW - 600, None),
                ("https://c.example/feed", NOW + 600, NOW - DAY),
            ],
        )
    assert await admin.feeds_polled(db) == 2
    assert await admin.make_feeds_due(db, NOW) == 2
    rows = await db.fetchall("SELECT url, next_poll_at FROM feeds ORDER BY url")
    assert [(row[0], row[1]) for row in rows] == [
        ("https://a.example/feed", NOW),
        ("https://b.example/feed", NOW - 600),
        ("https://c.example/feed", NOW + 600),
    ]
