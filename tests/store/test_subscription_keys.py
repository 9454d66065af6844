"""`targets.subscription_key`, what a scheduled run groups targets by: kept equal
to what the target follows, computed afresh, through every way subscriptions
change, and filled for the targets a database had before it existed. The key is
the same text on either engine: SQLite's JSON, which PostgreSQL's triggers write
too."""

from __future__ import annotations

import json
from pathlib import Path

from bot.store import subscriptions
from bot.store.db import Database, bundled_migrations
from bot.store.subscriptions import Revision
from tests.digest.helpers import add_target


def sqlite_json(values: list[str]) -> str:
    """A JSON array of texts as SQLite's json_group_array writes it: no spaces,
    `"` `\\` and control characters escaped (\\n, \\u001f), all else as is;
    Python's encoder, so told, writes the very same text."""
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


async def assert_exact(db: Database) -> list[str]:
    """Each target's stored key is the one its subscriptions make: the topics by
    their bytes (SQLite's BINARY order), the keyword queries in the order made."""
    targets = await db.fetchall("SELECT id, subscription_key FROM targets ORDER BY id")
    assert targets, "targets to check"
    rows = await db.fetchall("SELECT target_id, kind, value FROM subscriptions ORDER BY id")
    computed = []
    for target_id, _ in targets:
        topics = [row[2] for row in rows if row[0] == target_id and row[1] == "topic"]
        queries = [row[2] for row in rows if row[0] == target_id and row[1] == "query"]
        topics.sort(key=lambda value: value.encode())
        computed.append((target_id, f"[{sqlite_json(topics)},{sqlite_json(queries)}]"))
    assert [(row[0], row[1]) for row in targets] == computed
    return [row[1] for row in targets]


async def key_of(db: Database, target_id: int) -> str:
    key: str = await db.fetchval("SELECT subscription_key FROM targets WHERE id = ?", (target_id,))
    return key


async def test_the_key_follows_every_change_of_subscriptions(db: Database) -> None:
    one = await add_target(db, 1)
    other = await add_target(db, 2, topics=["economy"], queries=["lithium"])
    assert await key_of(db, one.id) == "[[],[]]"
    await assert_exact(db)

    # Subscribing: topics by slug whatever the order chosen, queries as made.
    await subscriptions.add(db, one.id, "topic", "migration", now=10)
    await subscriptions.add(db, one.id, "query", "solar power", now=10)
    await subscriptions.add(db, one.id, "topic", "climate", now=10)
    await subscriptions.add(db, one.id, "query", "Amazon", now=10)
    assert await key_of(db, one.id) == '[["climate","migration"],["solar power","Amazon"]]'
    await assert_exact(db)

    # Unsubscribing, each way a reader can.
    assert await subscriptions.remove(db, one.id, "topic", "climate")
    await assert_exact(db)
    first = (await subscriptions.list_for_target(db, one.id))[0]
    assert await subscriptions.remove_by_id(db, one.id, first.id) is not None
    await assert_exact(db)

    # Keywords revised by a check: removed as a duplicate of one the target
    # follows already, removed; and, alone, renamed in place.
    await subscriptions.add(db, one.id, "query", "lithum", now=11)
    await subscriptions.add(db, one.id, "query", "cobalt", now=12)
    await subscriptions.add(db, one.id, "query", "lithium", now=13)
    by_value = {s.value: s.id for s in await subscriptions.list_for_target(db, one.id)}
    for revisions in (
        [Revision(by_value["lithum"], "lithium"), Revision(by_value["Amazon"], None)],
        [Revision(by_value["cobalt"], "cobalt mining")],
    ):
        pending = [revision.subscription_id for revision in revisions]
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO subscriptions_to_check (subscription_id) VALUES (?)",
                [(subscription_id,) for subscription_id in pending],
            )
        assert await subscriptions.settle_checks(db, pending, revisions, [])
        await assert_exact(db)
    assert await key_of(db, one.id) == '[[],["solar power","cobalt mining","lithium"]]'

    # Everything, at once; the other target never moved.
    assert await subscriptions.remove_all(db, one.id, upto_id=10**9) == 3
    assert await key_of(db, one.id) == "[[],[]]"
    assert await key_of(db, other.id) == '[["economy"],["lithium"]]'
    await assert_exact(db)


async def test_the_key_is_sqlites_json_text_whatever_the_characters(db: Database) -> None:
    """Quotes, backslashes, line breaks, control characters, accents, scripts
    and emoji: the key must be the one text on both engines, byte for byte, as
    a run groups targets by it and a store copied from one engine to the other
    keeps it."""
    target = await add_target(db, 1)
    awkward = ['say "hi"', "back\\slash", "two\nlines", "tab\tbell\x07\x1f", "a/b", "del\x7f"]
    awkward += ["señal", "Ωmega", "中文", "emoji 😀", "\u2028sep", "it's 100%", "?:name"]
    for value in awkward:
        await subscriptions.add(db, target.id, "query", value, now=10)
    for slug in ("zeta", "Zeta", "élan", "alpha"):  # by bytes: uppercase, lowercase, then é
        await subscriptions.add(db, target.id, "topic", slug, now=10)
    [key] = await assert_exact(db)
    assert (
        key
        == "[" + sqlite_json(["Zeta", "alpha", "zeta", "élan"]) + "," + sqlite_json(awkward) + "]"
    )
    assert key.startswith('[["Zeta","alpha","zeta","élan"],["say \\"hi\\"","back\\\\slash",')
    assert "\\u0007\\u001f" in key
    assert "\x7f" in key


async def test_the_migration_fills_the_key_of_targets_made_before_it(tmp_path: Path) -> None:
    path = tmp_path / "before.sqlite3"
    earlier = [m for m in bundled_migrations() if m.version < 24]
    db = await Database.open(path, migrations=earlier)
    try:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO chats (chat_id, type, created_at, updated_at)"
                " VALUES (1, 'private', 0, 0)"
            )
            for thread in range(3):
                await tx.execute(
                    "INSERT INTO targets (chat_id, thread_id, created_at) VALUES (1, ?, 0)",
                    (thread,),
                )
            await tx.executemany(
                "INSERT INTO subscriptions (target_id, kind, value, created_at)"
                " VALUES (?, ?, ?, 0)",
                [(1, "query", "b"), (1, "topic", "sports"), (1, "query", "a"), (2, "topic", "art")],
            )
    finally:
        await db.close()
    db = await Database.open(path)
    try:
        assert await assert_exact(db) == ['[["sports"],["b","a"]]', '[["art"],[]]', "[[],[]]"]
    finally:
        await db.close()
