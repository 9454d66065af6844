"""Chats, their targets, what each target follows and the topic catalogue, as the
layers above use them: the same results on SQLite and on PostgreSQL, including
where the two engines' SQL differs (a group's migration to a supergroup, a
keyword's revision, the catalogue's sync)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from bot.store import chats, subscriptions, topics
from bot.store.chats import NewTarget, SeenChat, Target
from bot.store.db import Database
from bot.store.outbox import NewMessage
from bot.store.subscriptions import Added, Revision
from bot.store.topics import TopicRow
from tests.postgres import Server

NOW = 1_764_000_000
GROUP, SUPERGROUP = -100, -1_000_000_000_100


async def new_target(db: Database, chat_id: int, thread_id: int = 0) -> Target:
    """A chat's target as the bot first makes it: with the chat's record, in one write."""
    seen = SeenChat(chat_id, "private" if chat_id > 0 else "supergroup", f"chat {chat_id}")
    new = NewTarget(chat_id, thread_id, ui_language="en", timezone="UTC")
    return await chats.create_target(db, new, next_digest_at=NOW + 60, now=NOW, chat=seen)


async def queue(db: Database, chat_id: int, thread_id: int, state: str) -> int:
    """An outbox row in `state`, written as it stands (the outbox's own functions
    are tested with it)."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO outbox (chat_id, thread_id, kind, method, payload, state, created_at)"
            " VALUES (?, ?, 'digest', 'sendMessage', '{}', ?, ?) RETURNING id",
            (chat_id, thread_id, state, NOW),
        )
        row = await cursor.fetchone()
    assert row is not None
    row_id: int = row[0]
    return row_id


async def outbox_rows(db: Database) -> list[tuple[int, int, str, bool]]:
    """(chat, thread, state, whether it has an end time) of every row, in id order."""
    rows = await db.fetchall(
        "SELECT chat_id, thread_id, state, finished_at IS NOT NULL FROM outbox ORDER BY id"
    )
    return [(row[0], row[1], row[2], bool(row[3])) for row in rows]


async def follows(db: Database, target_id: int) -> list[tuple[str, str]]:
    return [(s.kind, s.value) for s in await subscriptions.list_for_target(db, target_id)]


async def test_a_chat_is_saved_refreshed_and_listed(db: Database) -> None:
    saved = await chats.save_chat(
        db, chat_id=-5, type="channel", title="News", username="news", added_by=7, now=NOW
    )
    assert (saved.type, saved.title, saved.username, saved.active, saved.added_by) == (
        "channel",
        "News",
        "news",
        True,
        7,
    )
    assert saved.is_group_like
    # Seen again: what Telegram says now, and who added it stays known.
    again = await chats.save_chat(
        db, chat_id=-5, type="channel", title="World news", is_forum=True, now=NOW + 1
    )
    assert (again.title, again.username, again.is_forum, again.added_by) == (
        "World news",
        None,
        True,
        7,
    )
    assert await chats.get_chat(db, -5) == again
    assert await chats.get_chat(db, -6) is None
    await chats.save_chat(db, chat_id=3, type=chats.chat_type("private"), title=None, now=NOW)
    await chats.save_chat(db, chat_id=-4, type=chats.chat_type("sender"), title="G", now=NOW)
    assert [c.chat_id for c in await chats.list_chats(db)] == [-5, -4, 3]
    assert [(c.chat_id, c.type) for c in await chats.list_chats(db, active=True)] == [
        (-5, "channel"),
        (-4, "group"),
        (3, "private"),
    ]
    assert await chats.list_chats(db, active=False) == []
    assert [c.chat_id for c in await chats.list_channels(db)] == [-5]


async def test_a_target_is_made_once_with_its_chat_and_changed_by_its_settings(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO articles (source, title, language, published_at, fetched_at,"
            " content_hash) VALUES ('s', 't', 'en', 1, 1, 'h')"
        )
    newest = await db.fetchval("SELECT max(id) FROM articles")
    target = await new_target(db, 42)
    assert (target.chat_id, target.thread_id, target.active, target.digest_mode) == (
        42,
        0,
        True,
        "daily",
    )
    # A new reader's first digest starts from the newest article stored.
    assert (target.cursor_article_id, target.next_digest_at, target.link_previews) == (
        newest,
        NOW + 60,
        True,
    )
    chat = await chats.get_chat(db, 42)
    assert chat is not None
    assert chat.type == "private"
    # Made again: the one that exists, as it is.
    assert await new_target(db, 42) == target
    topic = await chats.ensure_target(db, 42, 7, ui_language="es", timezone="UTC", now=NOW)
    assert (topic.thread_id, topic.ui_language, topic.next_digest_at) == (7, "es", None)
    assert await chats.get_target(db, 42) == target
    assert await chats.get_target(db, 42, 7) == topic
    assert await chats.get_target(db, 42, 8) is None
    assert await chats.get_target_by_id(db, topic.id) == topic
    assert await chats.list_targets(db, 42) == [target, topic]

    changed = await chats.update_target(
        db, target.id, link_previews=False, article_language="es", ui_language="es"
    )
    assert (changed.link_previews, changed.article_language, changed.ui_language) == (
        False,
        "es",
        "es",
    )
    with pytest.raises(ValueError, match="next_digest_at"):
        await chats.update_target(db, target.id, digest_mode="weekly")
    changed = await chats.update_target(
        db, target.id, digest_mode="weekly", digest_weekday=4, next_digest_at=NOW + 3600
    )
    assert (changed.digest_mode, changed.digest_weekday, changed.next_digest_at) == (
        "weekly",
        4,
        NOW + 3600,
    )
    with pytest.raises(ValueError, match="not a target setting"):
        await chats.update_target(db, target.id, chat_id=1)
    with pytest.raises(LookupError):
        await chats.update_target(db, 10**9, link_previews=True)


async def test_a_group_that_became_a_supergroup_moves_whole(db: Database) -> None:
    whole = await new_target(db, GROUP)
    await subscriptions.add(db, whole.id, "topic", "climate", NOW)
    await queue(db, GROUP, 0, "pending")
    await queue(db, GROUP, 0, "sent")
    await chats.migrate_chat(db, GROUP, SUPERGROUP)
    assert await chats.get_chat(db, GROUP) is None
    moved = await chats.get_chat(db, SUPERGROUP)
    assert moved is not None
    assert (moved.type, moved.title) == ("supergroup", f"chat {GROUP}")
    assert await chats.get_target(db, GROUP) is None
    moved_target = await chats.get_target(db, SUPERGROUP)
    assert moved_target is not None
    assert moved_target.id == whole.id
    assert await follows(db, whole.id) == [("topic", "climate")]
    assert await outbox_rows(db) == [(SUPERGROUP, 0, "pending", False), (GROUP, 0, "sent", False)]


async def test_a_migration_to_a_known_supergroup_keeps_its_targets_and_moves_the_rest(
    db: Database,
) -> None:
    """The supergroup was met first (its own update came before the migration):
    its targets stay as they are; the group's move unless the supergroup has one
    on the same thread, which goes with the group."""
    old_whole = await new_target(db, GROUP)
    old_topic = await new_target(db, GROUP, 5)
    await subscriptions.add(db, old_whole.id, "topic", "climate", NOW)
    await subscriptions.add(db, old_topic.id, "query", "lithium", NOW)
    new_whole = await new_target(db, SUPERGROUP)
    await subscriptions.add(db, new_whole.id, "topic", "economy", NOW)
    await queue(db, GROUP, 5, "sending")
    await chats.migrate_chat(db, GROUP, SUPERGROUP)
    assert await chats.get_chat(db, GROUP) is None
    assert await chats.list_targets(db, GROUP) == []
    assert [(t.id, t.thread_id) for t in await chats.list_targets(db, SUPERGROUP)] == [
        (new_whole.id, 0),
        (old_topic.id, 5),
    ]
    assert await follows(db, new_whole.id) == [("topic", "economy")]
    assert await follows(db, old_topic.id) == [("query", "lithium")]
    assert await chats.get_target_by_id(db, old_whole.id) is None
    assert await follows(db, old_whole.id) == []
    assert await outbox_rows(db) == [(SUPERGROUP, 5, "sending", False)]


async def test_a_chat_gone_stops_and_comes_back_as_it_was(db: Database) -> None:
    whole = await new_target(db, GROUP)
    topic = await new_target(db, GROUP, 3)
    other = await new_target(db, 9)
    for target in (whole, topic, other):
        await subscriptions.add(db, target.id, "topic", "climate", NOW)
    await chats.save_chat(db, chat_id=-7, type="channel", title="C", now=NOW)
    for thread, state in ((0, "pending"), (3, "sending"), (0, "sent")):
        await queue(db, GROUP, thread, state)
    await queue(db, 9, 0, "pending")
    assert await subscriptions.count_by_topic(db) == {"climate": 3}

    # A forum topic deleted: that target only.
    assert await chats.deactivate_target(db, GROUP, 3, "thread not found") == 1
    assert [t.active for t in await chats.list_targets(db, GROUP)] == [True, False]
    assert await subscriptions.count_by_topic(db) == {"climate": 2}

    # The bot removed from the group: the group, each of its targets, its queue.
    assert await chats.deactivate_chat(db, GROUP, "Forbidden: bot was kicked") == 1
    gone = await chats.get_chat(db, GROUP)
    assert gone is not None
    assert (gone.active, gone.inactive_reason) == (False, "Forbidden: bot was kicked")
    assert [t.active for t in await chats.list_targets(db, GROUP)] == [False, False]
    assert await outbox_rows(db) == [
        (GROUP, 0, "dropped", True),
        (GROUP, 3, "dropped", True),
        (GROUP, 0, "sent", False),
        (9, 0, "pending", False),
    ]
    dropped = await db.fetchall("SELECT last_error FROM outbox WHERE state = 'dropped' ORDER BY id")
    assert [row[0] for row in dropped] == ["Forbidden: bot was kicked", "thread not found"]
    assert [c.chat_id for c in await chats.list_chats(db, active=False)] == [GROUP]
    assert await subscriptions.count_by_topic(db) == {"climate": 1}
    assert await chats.deactivate_chat(db, -7, "Forbidden") == 0
    assert await chats.list_channels(db) == []

    # Back: with what it followed; once.
    assert await chats.reactivate_chat(db, GROUP)
    assert not await chats.reactivate_chat(db, GROUP)
    back = await chats.get_chat(db, GROUP)
    assert back is not None
    assert (back.active, back.inactive_reason) == (True, None)
    assert [t.active for t in await chats.list_targets(db, GROUP)] == [True, True]
    assert await subscriptions.count_by_topic(db) == {"climate": 3}
    assert await follows(db, whole.id) == [("topic", "climate")]


async def test_subscribing_up_to_a_limit_and_unsubscribing(db: Database) -> None:
    target = await new_target(db, 1)
    other = await new_target(db, 2)
    assert await subscriptions.add(db, target.id, "topic", "economy", NOW, limit=3) is Added.ADDED
    assert await subscriptions.add(db, target.id, "query", "solar", NOW, limit=3) is Added.ADDED
    assert await subscriptions.add(db, target.id, "topic", "economy", NOW, limit=3) is Added.EXISTS
    assert await subscriptions.add(db, target.id, "topic", "climate", NOW, limit=3) is Added.ADDED
    assert await subscriptions.add(db, target.id, "query", "wind", NOW, limit=3) is Added.FULL
    assert not Added.FULL
    assert not Added.EXISTS
    assert Added.ADDED
    # At its limit, one it has already is still "exists", not "full".
    assert await subscriptions.add(db, target.id, "query", "solar", NOW, limit=3) is Added.EXISTS
    # The limit counts one target's own.
    assert await subscriptions.add(db, other.id, "query", "wind", NOW, limit=1) is Added.ADDED
    assert await subscriptions.add(db, target.id, "query", "wind", NOW) is Added.ADDED
    # Topics first, then keywords, each by value.
    assert await follows(db, target.id) == [
        ("topic", "climate"),
        ("topic", "economy"),
        ("query", "solar"),
        ("query", "wind"),
    ]
    assert await subscriptions.count_by_topic(db) == {"climate": 1, "economy": 1}

    assert await subscriptions.remove(db, target.id, "topic", "climate")
    assert not await subscriptions.remove(db, target.id, "topic", "climate")
    [other_wind] = await subscriptions.list_for_target(db, other.id)
    # Another target's id removes nothing.
    assert await subscriptions.remove_by_id(db, target.id, other_wind.id) is None
    by_value = {s.value: s for s in await subscriptions.list_for_target(db, target.id)}
    assert (
        await subscriptions.remove_by_id(db, target.id, by_value["solar"].id) == by_value["solar"]
    )
    # All up to the newest asked about: one made after the question stays.
    newest = max(s.id for s in await subscriptions.list_for_target(db, target.id))
    await subscriptions.add(db, target.id, "query", "tides", NOW)
    assert await subscriptions.remove_all(db, target.id, upto_id=newest) == 2
    assert await follows(db, target.id) == [("query", "tides")]
    assert await follows(db, other.id) == [("query", "wind")]


async def test_keyword_checks_are_settled_once_with_their_notices(db: Database) -> None:
    target = await new_target(db, GROUP)
    await chats.deactivate_target(db, GROUP, 0, "gone")
    other = await new_target(db, 9)
    for value in ("solar", "solar power", "lithum", "tide", "wind"):
        await subscriptions.add(db, target.id, "query", value, NOW)
    await subscriptions.add(db, other.id, "query", "wind", NOW)
    ids = {s.value: s.id for s in await subscriptions.list_for_target(db, target.id)}
    checked = [ids["solar"], ids["lithum"], ids["tide"], ids["wind"]]
    [other_id] = [s.id for s in await subscriptions.list_for_target(db, other.id)]
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO subscriptions_to_check (subscription_id) VALUES (?)",
            [(i,) for i in [*checked, other_id]],
        )
    waiting = await subscriptions.to_check(db)
    assert [(w.id, w.value, w.chat_id, w.chat_type, w.active) for w in waiting] == [
        (ids["solar"], "solar", GROUP, "supergroup", False),
        (ids["lithum"], "lithum", GROUP, "supergroup", False),
        (ids["tide"], "tide", GROUP, "supergroup", False),
        (ids["wind"], "wind", GROUP, "supergroup", False),
        (other_id, "wind", 9, "private", True),
    ]
    revisions = [
        Revision(ids["solar"], "solar power"),  # one it follows: the duplicate goes
        Revision(ids["lithum"], "lithium"),  # renamed in place
        Revision(ids["tide"], None),  # removed
        Revision(ids["wind"], "wind"),  # the value it has: kept
        Revision(other_id, None),  # not among those checked here: untouched
    ]
    notice = NewMessage.text(GROUP, "your keywords changed", kind="notice")
    assert await subscriptions.settle_checks(db, checked, revisions, [notice])
    assert await follows(db, target.id) == [
        ("query", "lithium"),
        ("query", "solar power"),
        ("query", "wind"),
    ]
    assert ids["lithum"] in {s.id for s in await subscriptions.list_for_target(db, target.id)}
    assert [w.id for w in await subscriptions.to_check(db)] == [other_id]
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE kind = 'notice'") == 1
    # Taken already (by another process, say): nothing happens, nobody is told twice.
    assert not await subscriptions.settle_checks(db, checked, revisions, [notice])
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE kind = 'notice'") == 1
    assert await follows(db, other.id) == [("query", "wind")]


async def test_the_topics_follow_the_catalogue(db: Database) -> None:
    catalogue = [
        TopicRow("climate", "Climate", "Clima"),
        TopicRow("economy", "Economy", "Economía"),
    ]
    await topics.sync(db, catalogue)
    async with db.transaction() as tx:
        ids = []
        for n, language in enumerate(("en", "es", "en")):
            cursor = await tx.execute(
                "INSERT INTO articles (source, title, summary, language, published_at,"
                " fetched_at, content_hash, categories)"
                " VALUES ('s', ?, ?, ?, 1, 1, ?, ?) RETURNING id",
                (f"Title {n}", f"summary {n}", language, f"h{n}", "Energy\nPower" if n else None),
            )
            row = await cursor.fetchone()
            assert row is not None
            ids.append(row[0])
        await tx.execute(
            "INSERT INTO translations (article_id, other_id, how, at) VALUES (?, ?, 'text', 0),"
            " (?, ?, 'text', 0)",
            (ids[0], ids[1], ids[1], ids[0]),
        )
    # Tags set to exactly these; unchanged ones are not counted.
    assert await topics.replace_tags(db, {ids[0]: ["climate"], ids[1]: ["climate", "economy"]}) == 2
    assert await topics.replace_tags(db, {ids[0]: ["climate"], ids[2]: ["economy"]}) == 1
    # A pair of translations both on a topic is one story there.
    counts = await topics.counts(db)
    assert [(c.slug, c.name("es"), c.articles) for c in counts] == [
        ("climate", "Clima", 1),
        ("economy", "Economía", 2),
    ]
    assert await topics.article_texts(db, after_id=ids[0], limit=1) == [
        (ids[1], "Title 1 summary 1", ("Energy", "Power"))
    ]
    assert (await topics.article_texts(db, after_id=0, limit=5))[0] == (
        ids[0],
        "Title 0 summary 0",
        (),
    )

    # Renamed, reordered, one left out (with its tags), one new.
    await topics.sync(
        db, [TopicRow("migration", "Migration", "Migración"), TopicRow("economy", "Eco", "Eco")]
    )
    counts = await topics.counts(db)
    assert [(c.slug, c.name_en, c.articles) for c in counts] == [
        ("migration", "Migration", 0),
        ("economy", "Eco", 2),
    ]
    assert await db.fetchval("SELECT count(*) FROM article_topics WHERE topic = 'climate'") == 0
    await topics.sync(db, [])
    assert await topics.counts(db) == []


@pytest.fixture
async def shared(postgres: Server, migrated_template: str) -> AsyncIterator[list[Database]]:
    """Two processes' stores on one PostgreSQL database, and a third connection to
    watch them with."""
    name = f"shared_{next(_SHARED)}"
    postgres.psql(f"CREATE DATABASE {name} TEMPLATE {migrated_template}")
    opened = [await Database.open(postgres.url(name)) for _ in range(3)]
    try:
        yield opened
    finally:
        for database in opened:
            await database.close()


_SHARED = itertools.count(1)


async def waiting_on_a_lock(watcher: Database) -> None:
    """Until another connection to this database waits for a row lock."""
    for _ in range(3000):
        waiting = await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no connection came to wait for the lock")


async def test_two_processes_subscribing_at_once_keep_the_limit(shared: list[Database]) -> None:
    """PostgreSQL only: two processes add to one target at the same moment. The
    second one's count waits for the first to commit, so the limit holds (SQLite
    has one writer: there the two cannot overlap)."""
    first, second, watcher = shared
    target = await new_target(first, 1)
    assert await subscriptions.add(first, target.id, "query", "solar", NOW, limit=2)
    async with second.transaction() as tx:
        # The other process is inside its own add: its row written, not committed.
        await tx.execute(
            "INSERT INTO subscriptions (target_id, kind, value, created_at)"
            " VALUES (?, 'query', 'wind', ?)",
            (target.id, NOW),
        )
        adding = asyncio.create_task(
            subscriptions.add(first, target.id, "query", "tides", NOW, limit=2)
        )
        await waiting_on_a_lock(watcher)
        assert not adding.done()
    assert await adding is Added.FULL
    assert await follows(first, target.id) == [("query", "solar"), ("query", "wind")]
