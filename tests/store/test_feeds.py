"""The feeds table: configured and admin feeds, poll state, the once-only failure report."""

from __future__ import annotations

from bot.store import feeds
from bot.store.db import Database
from bot.store.feeds import FAILING_AFTER, FeedConfig
from bot.store.outbox import NewMessage


def notice(chat_id: int, text: str) -> NewMessage:
    return NewMessage.text(chat_id, text, kind="notice")


async def notices(db: Database) -> list[tuple[int, str]]:
    rows = await db.fetchall("SELECT chat_id, kind, payload FROM outbox ORDER BY id")
    assert all(row["kind"] == "notice" for row in rows)
    return [(row["chat_id"], row["payload"]) for row in rows]


async def test_sync_follows_the_file_but_respects_admin_removals(db: Database) -> None:
    a, b, c = "https://a.example/feed", "https://b.example/feed", "https://c.example/feed"
    report = await feeds.sync_config(db, [FeedConfig(a, "A"), FeedConfig(b, language="es")], now=1)
    assert (report.added, report.updated, report.removed) == (2, 0, 0)
    listed = await feeds.list_feeds(db)
    assert [(f.url, f.title, f.language, f.origin) for f in listed] == [
        (a, "A", None, "config"),
        (b, None, "es", "config"),
    ]
    # b leaves the file: it stops. An admin removes a: it stays removed.
    await feeds.remove_feed(db, listed[0].id, now=2)
    report = await feeds.sync_config(db, [FeedConfig(a, "A"), FeedConfig(c)], now=3)
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    assert [f.url for f in await feeds.list_feeds(db)] == [c]
    # b listed again comes back, due at once; a needs an admin to add it again.
    await feeds.sync_config(db, [FeedConfig(a), FeedConfig(b), FeedConfig(c)], now=4)
    assert sorted(f.url for f in await feeds.due_feeds(db, 4)) == [b, c]
    feed, restored = await feeds.add_feed(db, a, now=5, added_by=9)
    assert restored
    assert feed.removed_at is None
    assert feed.title == "A"
    assert [f.url for f in await feeds.list_feeds(db)] == [a, b, c]


async def test_add_feed_twice_is_not_new_and_keeps_its_schedule(db: Database) -> None:
    feed, created = await feeds.add_feed(db, "https://x.example/rss", now=10, added_by=7)
    assert created
    assert (feed.origin, feed.added_by, feed.next_poll_at, feed.status(10)) == (
        "admin",
        7,
        10,
        "new",
    )
    await feeds.record_success(
        db, feed.id, now=11, next_poll_at=900, etag='"e"', last_modified=None, new_count=3
    )
    again, created = await feeds.add_feed(db, "https://x.example/rss", now=12)
    assert not created
    assert again.next_poll_at == 900
    assert again.etag == '"e"'
    assert again.status(12) == "ok"
    assert again.last_new_at == 11


async def test_removed_feeds_are_not_due_and_keep_their_row(db: Database) -> None:
    feed, _ = await feeds.add_feed(db, "https://x.example/rss", now=10)
    removed = await feeds.remove_feed(db, feed.id, now=20)
    assert removed is not None
    assert removed.status(20) == "removed"
    assert await feeds.remove_feed(db, feed.id, now=21) is None
    assert await feeds.due_feeds(db, 100) == []
    assert await feeds.list_feeds(db) == []
    assert [f.id for f in await feeds.list_feeds(db, include_removed=True)] == [feed.id]


async def test_due_feeds_in_waiting_order_with_a_limit(db: Database) -> None:
    for i, at in enumerate([30, 10, 20, 99]):
        feed, _ = await feeds.add_feed(db, f"https://{i}.example/rss", now=0)
        await feeds.record_success(
            db, feed.id, now=0, next_poll_at=at, etag=None, last_modified=None, new_count=0
        )
    assert [f.next_poll_at for f in await feeds.due_feeds(db, 50)] == [10, 20, 30]
    assert [f.next_poll_at for f in await feeds.due_feeds(db, 50, limit=2)] == [10, 20]


async def test_failing_for_a_day_is_reported_once_and_recovery_is_told(db: Database) -> None:
    feed, _ = await feeds.add_feed(db, "https://x.example/rss", now=0)
    told = [notice(1, "failing"), notice(2, "failing")]
    assert not await feeds.record_failure(
        db, feed.id, now=100, next_poll_at=200, error="HTTP 500", notices=told
    )
    state = await feeds.get_feed(db, feed.id)
    assert state is not None
    assert (state.failure_count, state.failing_since, state.status(100)) == (1, 100, "retrying")
    assert not await feeds.record_failure(
        db, feed.id, now=100 + FAILING_AFTER - 1, next_poll_at=0, error="HTTP 500", notices=told
    )
    assert await notices(db) == []
    assert await feeds.record_failure(
        db, feed.id, now=100 + FAILING_AFTER, next_poll_at=0, error="HTTP 503", notices=told
    )
    assert not await feeds.record_failure(
        db, feed.id, now=200 + FAILING_AFTER, next_poll_at=0, error="HTTP 503", notices=told
    )
    assert [chat for chat, _ in await notices(db)] == [1, 2]
    state = await feeds.get_feed(db, feed.id)
    assert state is not None
    assert (state.failure_count, state.last_error, state.status(0)) == (4, "HTTP 503", "failing")
    back = [notice(1, "back")]
    assert await feeds.record_success(
        db,
        feed.id,
        now=300 + FAILING_AFTER,
        next_poll_at=0,
        etag=None,
        last_modified=None,
        new_count=0,
        recovered=back,
    )
    state = await feeds.get_feed(db, feed.id)
    assert state is not None
    assert (state.failure_count, state.failing_since, state.failure_reported) == (0, None, False)
    assert state.status(0) == "ok"
    assert len(await notices(db)) == 3
    # A later success says nothing.
    assert not await feeds.record_success(
        db,
        feed.id,
        now=400 + FAILING_AFTER,
        next_poll_at=0,
        etag=None,
        last_modified=None,
        new_count=0,
        recovered=back,
    )
    assert len(await notices(db)) == 3


async def test_chat_languages_for_admin_notices(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO chats (chat_id, type, created_at, updated_at) VALUES (5, 'private', 0, 0)"
        )
        await tx.execute(
            "INSERT INTO targets (chat_id, ui_language, created_at) VALUES (5, 'es', 0)"
        )
    assert await feeds.chat_languages(db, [5, 6]) == {5: "es"}
