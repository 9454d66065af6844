"""Digest SQL on a real store, a SQLite file or a PostgreSQL database: due targets,
new articles, the one-transaction commit, the groups of a run and their commit."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiosqlite
import pytest

from bot.search import parse_query
from bot.store import articles, digests
from bot.store.chats import Target, get_target_by_id
from bot.store.db import Database
from bot.store.digests import DigestCommit, GroupDigest
from bot.store.outbox import NewMessage, SharedPart
from bot.store.sqlite import SQLiteDatabase
from tests.digest.helpers import add_article, add_articles, add_target

# The tests that store articles with topics need the topics in the store.
with_topics = pytest.mark.usefixtures("catalogue")
NOW = 1_750_000_000


async def outbox_texts(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT payload FROM outbox ORDER BY id")
    return [row[0] for row in rows]


async def test_due_targets_are_read_in_keyset_batches(db: Database) -> None:
    for chat in range(1, 8):
        await add_target(db, chat, next_digest_at=100 + chat % 3)
    await add_target(db, 20, next_digest_at=500)  # not yet due
    await add_target(db, 21, digest_mode="instant")  # never due
    seen = []
    after = (-1, 0)
    while batch := await digests.due_targets(db, 102, after=after, limit=3):
        seen += [(t.next_digest_at, t.chat_id) for t in batch]
        last = batch[-1]
        assert last.next_digest_at is not None
        after = (last.next_digest_at, last.id)
    assert seen == sorted(seen)
    assert sorted(chat for _, chat in seen) == list(range(1, 8))
    assert await digests.oldest_due_cursor(db, 102) == 0
    assert await digests.oldest_due_cursor(db, 99) is None


async def test_due_and_instant_queries_read_only_their_part_of_an_index(
    sqlite_db: SQLiteDatabase,
) -> None:
    db = sqlite_db
    plan = await db.fetchall(
        "EXPLAIN QUERY PLAN SELECT id FROM targets"
        " WHERE next_digest_at IS NOT NULL AND next_digest_at <= 5"
        " AND (next_digest_at, id) > (0, 0) ORDER BY next_digest_at, id"
    )
    assert any("targets_due" in row[3] for row in plan)
    plan = await db.fetchall(
        "EXPLAIN QUERY PLAN SELECT id FROM targets"
        " WHERE digest_mode = 'instant' AND cursor_article_id < 5"
        " AND (cursor_article_id, id) > (-1, 0) ORDER BY cursor_article_id, id"
    )
    assert any("targets_instant" in row[3] for row in plan)


Page = Callable[[Database, tuple[int, int]], Awaitable[Sequence[Target]]]


async def _steps(path: Path, page: Page, after: tuple[int, int]) -> tuple[int, list[int]]:
    """SQLite's virtual-machine steps for one page, on connections of its own that
    count them, and the ids the page held."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    writer = await aiosqlite.connect(path, isolation_level=None)
    reader = await aiosqlite.connect(path, isolation_level=None)
    reader.row_factory = sqlite3.Row
    await reader.set_progress_handler(tick, 10)
    counted = SQLiteDatabase(path, writer, reader)
    try:
        found = await page(counted, after)
    finally:
        await counted.close()
    return steps, [target.id for target in found]


async def test_a_page_far_into_a_run_costs_what_the_first_one_costs(
    sqlite_db: SQLiteDatabase,
) -> None:
    """Thousands of targets share a digest time (08:00 is the default) and instant
    targets a cursor: a later page must seek past the targets before it, not walk
    them again, or a run over a million targets is quadratic."""
    db = sqlite_db
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO chats (chat_id, type, created_at, updated_at) VALUES (?, 'private', 0, 0)",
            [(n,) for n in range(1, 6_001)],
        )
        await tx.executemany(
            "INSERT INTO targets (id, chat_id, digest_mode, cursor_article_id, next_digest_at,"
            " created_at) VALUES (?, ?, ?, 7, ?, 0)",
            [(n, n, "daily", 100) for n in range(1, 3_001)]
            + [(n, n, "instant", None) for n in range(3_001, 6_001)],
        )

    def due(counted: Database, after: tuple[int, int]) -> Awaitable[Sequence[Target]]:
        return digests.due_targets(counted, 100, after=after, limit=50)

    def instant(counted: Database, after: tuple[int, int]) -> Awaitable[Sequence[Target]]:
        return digests.instant_targets(counted, 9, after=after, limit=50)

    for page, first_id in ((due, 1), (instant, 3_001)):
        first, ids = await _steps(db.path, page, (-1, 0))
        assert ids == list(range(first_id, first_id + 50))
        shared = 100 if page is due else 7  # the time, or the cursor, they all have
        later, ids = await _steps(db.path, page, (shared, first_id + 2_899))
        assert ids == list(range(first_id + 2_900, first_id + 2_950))
        assert later <= 2 * first, (page.__name__, first, later)


async def test_a_target_of_an_inactive_chat_is_due_but_not_active(db: Database) -> None:
    target = await add_target(db, 1, next_digest_at=10)
    async with db.transaction() as tx:
        await tx.execute("UPDATE chats SET active = 0 WHERE chat_id = 1")
    [due] = await digests.due_targets(db, 10)
    assert due.id == target.id
    assert not due.active


async def test_unscheduled_daily_and_weekly_targets_get_a_time(db: Database) -> None:
    daily = await add_target(db, 1)
    weekly = await add_target(db, 2, digest_mode="weekly")
    await add_target(db, 3, digest_mode="instant")
    await add_target(db, 4, next_digest_at=50)
    found = await digests.unscheduled_targets(db)
    assert [t.id for t in found] == [daily.id, weekly.id]
    assert [t.id for t in await digests.unscheduled_targets(db, after_id=daily.id)] == [weekly.id]
    await digests.set_schedules(db, [(daily.id, 70), (weekly.id, 80)])
    assert await digests.unscheduled_targets(db) == []


@with_topics
async def test_instant_targets_are_those_behind_the_newest_article(db: Database) -> None:
    behind = await add_target(db, 1, digest_mode="instant")
    await add_article(db, "Border news", ["migration"])
    newest = await articles.newest_id(db)
    level = await add_target(db, 2, digest_mode="instant")  # starts at the newest article
    await add_target(db, 3)  # daily
    assert level.cursor_article_id == newest
    found = await digests.instant_targets(db, newest)
    assert [t.id for t in found] == [behind.id]
    assert await digests.oldest_instant_cursor(db, newest) == 0
    assert await digests.instant_targets(db, newest, after=(0, behind.id)) == []


@with_topics
async def test_new_articles_come_with_their_topics_in_catalogue_order(db: Database) -> None:
    first = await add_article(db, "Old one", ["history"])
    ids = await add_articles(
        db,
        [("A", "", ["students", "migration"]), ("B", "", []), ("C", "", ["history"])],
    )
    found = await articles.between(db, first, ids[-1])
    assert [a.id for a in found] == ids
    assert found[0].topics == ("migration", "students")
    assert found[1].topics == ()
    assert await articles.between(db, ids[-1], ids[-1]) == []


@with_topics
async def test_keyword_matches_within_the_range_and_the_querys_own_filters(db: Database) -> None:
    old = await add_article(db, "Border wall plans", ["migration"])
    [en, es, other] = await add_articles(
        db,
        [
            ("New border wall funding", "", ["migration"]),
            ("Muro fronterizo", "La frontera y el muro", ["students"]),
            ("Unrelated weather", "", []),
        ],
    )
    async with db.transaction() as tx:
        await tx.execute("UPDATE articles SET language = 'es' WHERE id = ?", (es,))

    async def run(text: str, topics: Sequence[str] = ()) -> frozenset[int]:
        query = parse_query(text)
        return await digests.keyword_matches(
            db,
            query.text_match(),
            after_id=old,
            upto_id=other,
            language=query.language,
            topics=topics,
        )

    assert await run("wall") == {en}
    assert await run("muro") == {es}
    assert await run("wall OR muro") == frozenset()  # all words must match
    assert await run("muro lang:en") == frozenset()
    assert await run("lang:es") == {es}
    assert await run("wall", topics=["students"]) == frozenset()
    assert await run("frontera", topics=["students"]) == {es}
    # The lower bound is exclusive, the upper inclusive.
    assert await digests.keyword_matches(
        db, parse_query("wall").text_match(), after_id=0, upto_id=en
    ) == {
        old,
        en,
    }


async def test_subscriptions_of_many_targets_in_one_query(db: Database) -> None:
    a = await add_target(db, 1, topics=["migration"], queries=["juarez"])
    b = await add_target(db, 2)
    found = await digests.subscriptions_of(db, [a.id, b.id])
    assert [(s.kind, s.value) for s in found[a.id]] == [("topic", "migration"), ("query", "juarez")]
    assert found[b.id] == []


def digest_row(target_id: int, text: str = "digest") -> NewMessage:
    return NewMessage.text(1, text, kind="digest", target_id=target_id)


async def test_commit_queues_rows_and_moves_cursor_and_schedule_together(db: Database) -> None:
    target = await add_target(db, 1, next_digest_at=100)
    commit = DigestCommit(target.id, 0, 100, 42, 186_500, [digest_row(target.id)])
    assert await digests.commit_digests(db, [commit], now=150) == [True]
    saved = await get_target_by_id(db, target.id)
    assert saved is not None
    assert (saved.cursor_article_id, saved.next_digest_at, saved.last_digest_at) == (
        42,
        186_500,
        150,
    )
    assert len(await outbox_texts(db)) == 1
    # Committing the same build again finds the cursor moved: nothing twice.
    assert await digests.commit_digests(db, [commit], now=151) == [False]
    assert len(await outbox_texts(db)) == 1


async def test_nothing_new_moves_cursor_and_schedule_without_a_row(db: Database) -> None:
    target = await add_target(db, 1, next_digest_at=100)
    commit = DigestCommit(target.id, 0, 100, 42, 186_500)
    assert await digests.commit_digests(db, [commit], now=150) == [True]
    saved = await get_target_by_id(db, target.id)
    assert saved is not None
    assert (saved.cursor_article_id, saved.next_digest_at, saved.last_digest_at) == (
        42,
        186_500,
        None,
    )
    assert await outbox_texts(db) == []


async def test_a_failure_inside_the_transaction_moves_neither_rows_nor_cursor(db: Database) -> None:
    target = await add_target(db, 1, next_digest_at=100)
    commit = DigestCommit(target.id, 0, 100, 42, 186_500, [digest_row(target.id)])

    async def crash() -> None:
        async with db.transaction() as tx:
            assert await digests.commit_digest_tx(tx, commit, now=150)
            assert len(list(await (await tx.execute("SELECT id FROM outbox")).fetchall())) == 1
            raise RuntimeError("crash after the rows were written")

    with pytest.raises(RuntimeError):
        await crash()
    # A row the outbox refuses fails the whole commit after the cursor was updated.
    bad = NewMessage(1, "digest", "sendSticker", {}, target_id=target.id)
    with pytest.raises(ValueError, match="sendSticker"):
        await digests.commit_digests(
            db, [DigestCommit(target.id, 0, 100, 42, 186_500, [bad])], now=150
        )
    saved = await get_target_by_id(db, target.id)
    assert saved is not None
    assert (saved.cursor_article_id, saved.next_digest_at) == (0, 100)
    assert await outbox_texts(db) == []


async def test_a_settings_change_since_the_build_wins(db: Database) -> None:
    target = await add_target(db, 1, next_digest_at=100)
    async with db.transaction() as tx:
        await tx.execute("UPDATE targets SET next_digest_at = 999 WHERE id = ?", (target.id,))
    stale = DigestCommit(target.id, 0, 100, 42, 186_500, [digest_row(target.id)])
    assert await digests.commit_digests(db, [stale], now=150) == [False]
    # /digest keeps the schedule, so it does not care.
    now_commit = DigestCommit(
        target.id, 0, None, 42, None, [digest_row(target.id)], keep_schedule=True
    )
    assert await digests.commit_digests(db, [now_commit], now=150) == [True]
    saved = await get_target_by_id(db, target.id)
    assert saved is not None
    assert (saved.cursor_article_id, saved.next_digest_at) == (42, 999)


async def test_a_run_reads_each_target_with_its_subscriptions_and_its_chats_kind(
    db: Database,
) -> None:
    """`due_run` and `instant_run` read, in one document, what `due_targets` and
    `instant_targets` read, each target with its subscriptions (topics first,
    then in the order made) and whether its chat is a channel."""
    group = await add_target(
        db, -1_001_234_567_890, thread_id=7, queries=["lithium"], topics=["economy"],
        next_digest_at=100,
    )  # fmt: skip
    channel = await add_target(db, -1_009_999_999_999, next_digest_at=100)
    plain = await add_target(db, 3, topics=["migration", "climate"], next_digest_at=90)
    behind = await add_target(db, 4, queries=['say "hi"'], digest_mode="instant")
    async with db.transaction() as tx:
        await tx.execute("UPDATE chats SET type = 'channel' WHERE chat_id = ?", (channel.chat_id,))
        await tx.execute("UPDATE chats SET active = 0 WHERE chat_id = 3")

    run = await digests.due_run(db, 100)
    assert [item.target for item in run] == await digests.due_targets(db, 100)
    assert [item.target.id for item in run] == [plain.id, group.id, channel.id]
    assert [item.channel for item in run] == [False, False, True]
    assert [item.target.active for item in run] == [False, True, True]
    assert run[1].target.chat_id == -1_001_234_567_890
    assert run[1].target.thread_id == 7
    assert [(s.kind, s.value) for s in run[0].subscriptions] == [
        ("topic", "migration"),
        ("topic", "climate"),
    ]
    assert [(s.kind, s.value) for s in run[1].subscriptions] == [
        ("topic", "economy"),
        ("query", "lithium"),
    ]
    assert run[2].subscriptions == []
    assert [item.target.id for item in await digests.due_run(db, 100, after=(100, group.id))] == [
        channel.id
    ]
    assert await digests.due_run(db, 89) == []

    [instant] = await digests.instant_run(db, 5)
    assert [instant.target] == await digests.instant_targets(db, 5)
    assert instant.target.id == behind.id
    assert [(s.kind, s.value) for s in instant.subscriptions] == [("query", 'say "hi"')]
    assert await digests.instant_run(db, 0) == []

    assert await digests.channel_ids(db, [3, channel.chat_id, group.chat_id]) == {channel.chat_id}
    assert await digests.channel_ids(db, []) == set()


async def test_a_group_commit_skips_targets_whose_cursor_or_time_moved_since_the_read(
    db: Database,
) -> None:
    """What `commit_digests` checks target by target, the set-wise commit checks
    for each target of a group: a target another builder committed meanwhile
    (cursor moved) or whose schedule changed (time moved) gets nothing and is
    left as it is; the others get the group's pages, in order, and move on."""
    ids = []
    for chat_id in range(1, 6):
        target = await add_target(db, chat_id, topics=["migration"], now=NOW)
        ids.append(target.id)
    other = await add_target(db, 9, topics=["economy"], now=NOW)
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE targets SET next_digest_at = ?, cursor_article_id = 7", (NOW - 60,)
        )
    page = await digests.due_groups(db, NOW)
    assert sorted(group.targets for group in page.groups) == [1, 5]
    assert page.last == (NOW - 60, other.id)
    assert not page.full
    [group] = [group for group in page.groups if group.topics == ("migration",)]
    [alone] = [group for group in page.groups if group.topics == ("economy",)]
    assert sorted(json.loads(group.ids)) == ids
    assert (group.target.cursor_article_id, group.target.next_digest_at) == (7, NOW - 60)
    async with db.transaction() as tx:  # meanwhile: /digest sent one, one changed its time
        await tx.execute("UPDATE targets SET cursor_article_id = 9 WHERE id = ?", (ids[1],))
        await tx.execute("UPDATE targets SET next_digest_at = ? WHERE id = ?", (NOW, ids[3]))
    pages = (SharedPart('{"text":"one"}'), SharedPart('{"text":"two"}'))
    done = await digests.commit_groups(
        db,
        [(group, GroupDigest(NOW + 86_400, pages)), (alone, GroupDigest(None, ()))],
        now=NOW,
        upto_id=20,
    )
    assert done == [3, 1]
    rows = await db.fetchall("SELECT target_id, request FROM outbox_requests ORDER BY id")
    committed = [ids[0], ids[2], ids[4]]
    assert [(row[0], row[1]) for row in rows] == [
        (target_id, text)
        for target_id in committed
        for text in ('{"text":"one"}', '{"text":"two"}')
    ]
    states = await db.fetchall(
        "SELECT id, cursor_article_id, next_digest_at, last_digest_at FROM targets ORDER BY id"
    )
    assert [tuple(row) for row in states] == [
        (ids[0], 20, NOW + 86_400, NOW),
        (ids[1], 9, NOW - 60, None),
        (ids[2], 20, NOW + 86_400, NOW),
        (ids[3], 7, NOW, None),
        (ids[4], 20, NOW + 86_400, NOW),
        (other.id, 20, None, None),  # nothing to send: its time moves, not its last digest
    ]
    # Committed again, the page finds every target moved.
    assert await digests.commit_groups(
        db, [(group, GroupDigest(NOW + 86_400, pages))], now=NOW, upto_id=20
    ) == [0]


async def test_targets_that_differ_only_in_queries_matching_nothing_are_one_group(
    db: Database,
) -> None:
    """A run evaluates the page's keyword queries first and the store leaves those
    that match nothing out of the groups: a target whose keywords found nothing
    new shares its topics' group, one whose keywords did keeps its own."""
    lithium = await add_target(db, 1, topics=["migration"], queries=["lithium"], now=NOW)
    cobalt = await add_target(db, 2, topics=["migration"], queries=["cobalt", "nickel"], now=NOW)
    plain = await add_target(db, 3, topics=["migration"], now=NOW)
    quoted = await add_target(db, 4, topics=["migration"], queries=['"ni"', "cobalt"], now=NOW)
    async with db.transaction() as tx:
        await tx.execute("UPDATE targets SET next_digest_at = ?", (NOW - 60,))
    assert sorted(await digests.due_queries(db, NOW)) == ['"ni"', "cobalt", "lithium", "nickel"]
    assert await digests.due_queries(db, NOW - 61) == []
    every = await digests.due_groups(db, NOW)
    assert sorted(group.queries for group in every.groups) == [
        (),
        ('"ni"', "cobalt"),
        ("cobalt", "nickel"),
        ("lithium",),
    ]
    page = await digests.due_groups(db, NOW, unmatched=["cobalt", "nickel", '"ni"'])
    found = {group.queries: sorted(json.loads(group.ids)) for group in page.groups}
    assert found == {("lithium",): [lithium.id], (): sorted([cobalt.id, plain.id, quoted.id])}
    page = await digests.due_groups(db, NOW, unmatched=["nickel"])
    found = {group.queries: sorted(json.loads(group.ids)) for group in page.groups}
    assert found == {
        (): [plain.id],
        ("cobalt",): [cobalt.id],
        ('"ni"', "cobalt"): [quoted.id],
        ("lithium",): [lithium.id],
    }
    # Paged as `due_run` pages them: the page's last target, and whether it was full.
    first = await digests.due_groups(db, NOW, limit=2, unmatched=[])
    assert (first.last, first.full) == ((NOW - 60, cobalt.id), True)
    rest = await digests.due_groups(db, NOW, after=(NOW - 60, cobalt.id), limit=2)
    assert (rest.last, rest.full) == ((NOW - 60, quoted.id), True)
    assert sum(group.targets for group in first.groups + rest.groups) == 4
    empty = await digests.due_groups(db, NOW, after=(NOW - 60, quoted.id), limit=2)
    assert (empty.groups, empty.last, empty.full) == ([], None, False)


async def _wait_until_blocked(watcher: Database, sessions: int = 1) -> None:
    """Until statements of `sessions` other connections wait for a lock. A guard
    of a minute against a hang, no measurement."""
    for _ in range(6_000):
        waiting = await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting >= sessions:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{sessions} commits never all waited for another transaction")


@pytest.mark.parametrize("commit", ["groups", "targets"])
async def test_a_commit_racing_another_process_leaves_the_target_it_moved(
    db: Database, commit: str
) -> None:
    """Several processes write one PostgreSQL store: while a commit reads the
    targets it is to move, another process's /digest may be moving one of them.
    The commit waits for that target, then finds it moved and leaves it, as it
    does a target moved before it began: one digest for it, not two."""
    if db.dialect == "sqlite":
        pytest.skip("SQLite has one writer: a transaction never sees another's half done")
    ids = [
        (await add_target(db, chat_id, topics=["migration"], now=NOW)).id for chat_id in (1, 2, 3)
    ]
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE targets SET next_digest_at = ?, cursor_article_id = 7", (NOW - 60,)
        )
    [group] = (await digests.due_groups(db, NOW)).groups
    page = SharedPart('{"text":"one"}')

    async def race() -> list[int] | list[bool]:
        if commit == "groups":
            pages = GroupDigest(NOW + 86_400, (page,))
            return await digests.commit_groups(db, [(group, pages)], now=NOW, upto_id=20)
        return await digests.commit_digests(
            db,
            [DigestCommit(i, 7, NOW - 60, 20, NOW + 86_400, shared=[(i, 0, i, page)]) for i in ids],
            now=NOW,
        )

    other = await Database.open(db.location)
    try:
        async with other.transaction() as tx:  # the other process, half way through
            await tx.execute(
                "UPDATE targets SET cursor_article_id = 9, last_digest_at = 1 WHERE id = ?",
                (ids[1],),
            )
            racing = asyncio.ensure_future(race())
            await _wait_until_blocked(other)
        done = await racing
    finally:
        await other.close()
    assert done == ([2] if commit == "groups" else [True, False, True])
    rows = await db.fetchall("SELECT target_id FROM outbox ORDER BY id")
    assert [row[0] for row in rows] == [ids[0], ids[2]]
    states = await db.fetchall(
        "SELECT id, cursor_article_id, last_digest_at FROM targets ORDER BY id"
    )
    assert [tuple(row) for row in states] == [(ids[0], 20, NOW), (ids[1], 9, 1), (ids[2], 20, NOW)]


async def test_a_commit_and_a_group_commit_of_one_target_never_deadlock(db: Database) -> None:
    """A group commit takes the outbox's turn (transactions that queue rows take
    turns on PostgreSQL), then its targets' rows; a commit of a single target,
    racing it, must not hold that target's row while it waits for the turn, or
    each waits for the other until PostgreSQL aborts one of them. The single
    commit waits for its turn first, then finds the target moved."""
    if db.dialect == "sqlite":
        pytest.skip("SQLite has one writer: a transaction never waits for another's locks")
    ids = [(await add_target(db, chat_id, topics=["migration"], now=NOW)).id for chat_id in (1, 2)]
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE targets SET next_digest_at = ?, cursor_article_id = 7", (NOW - 60,)
        )
    [group] = (await digests.due_groups(db, NOW)).groups
    page = SharedPart('{"text":"one"}')
    holder = await Database.open(db.location)
    single = await Database.open(db.location)
    try:
        async with holder.transaction() as tx:  # a third process holds the first target
            await tx.execute(
                "UPDATE targets SET last_digest_at = last_digest_at WHERE id = ?", (ids[0],)
            )
            grouped = asyncio.ensure_future(
                digests.commit_groups(
                    db, [(group, GroupDigest(NOW + 86_400, (page,)))], now=NOW, upto_id=20
                )
            )
            await _wait_until_blocked(holder)  # its turn taken, waiting for the first target
            alone = asyncio.ensure_future(
                digests.commit_digests(
                    single,
                    [DigestCommit(ids[1], 7, NOW - 60, 30, NOW, shared=[(2, 0, ids[1], page)])],
                    now=NOW,
                )
            )
            await _wait_until_blocked(holder, 2)
        assert await grouped == [2]
        assert await alone == [False]
    finally:
        await single.close()
        await holder.close()
    rows = await db.fetchall("SELECT target_id FROM outbox ORDER BY id")
    assert [row[0] for row in rows] == ids
