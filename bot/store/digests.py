"""All digest SQL: which targets are due, what is new for them, and the commit.

A digest's outbox rows and its target's cursor and schedule are written in one
transaction (`commit_digest_tx`): after a crash either both happened or
neither, so a digest is never lost and never built twice. The commit is also
conditional on the cursor and schedule being what the builder read, so two
builders racing for one target (the minute job and /digest) queue it once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

from bot.store import outbox
from bot.store.chats import Target
from bot.store.db import Connection, Database, Dialect, Row, Transaction
from bot.store.fulltext import TextMatch, fts5, tsquery
from bot.store.outbox import NewMessage, SharedRow
from bot.store.subscriptions import Subscription

# A target is deliverable only while both it and its chat are active. The
# columns come in the order of Target's fields (`_target`). PostgreSQL's AND
# takes booleans, not the 0/1 flags.
_TARGET_COLUMNS: dict[Dialect, str] = {
    "sqlite": """
    t.id, t.chat_id, t.thread_id, (t.active AND c.active) AS active, t.ui_language,
    t.article_language, t.digest_mode, t.digest_minute, t.digest_weekday, t.timezone,
    t.cursor_article_id, t.last_digest_at, t.next_digest_at, t.link_previews
""",
    "postgresql": """
    t.id, t.chat_id, t.thread_id, (t.active <> 0 AND c.active <> 0) AS active, t.ui_language,
    t.article_language, t.digest_mode, t.digest_minute, t.digest_weekday, t.timezone,
    t.cursor_article_id, t.last_digest_at, t.next_digest_at, t.link_previews
""",
}


def _target(row: Row) -> Target:
    """A row of `_TARGET_COLUMNS`, by position: a run reads a million of them, and
    reading each of fourteen columns by name costs more than the query."""
    return Target(
        row[0],
        row[1],
        row[2],
        bool(row[3]),
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        row[12],
        bool(row[13]),
    )


class RunTarget(NamedTuple):
    """A target as a digest run reads it: its subscriptions (topics first, then
    in the order made) and whether its chat is a channel, read with it in one
    query instead of three (a run reads a million of them)."""

    target: Target
    subscriptions: list[Subscription]
    channel: bool


# A page of `RunTarget`s as one JSON array of rows: `_TARGET_COLUMNS`, the chat's
# kind, and the target's subscriptions. One JSON document for the page decodes
# in a fraction of the time a row per target with a document each takes. On
# PostgreSQL the same document from json_agg (spaced otherwise, parsed alike;
# no rows make NULL there, `[]` on SQLite).
_RUN_ROW: dict[Dialect, str] = {
    "sqlite": """
    json_array(
        t.id, t.chat_id, t.thread_id, t.active AND c.active, t.ui_language,
        t.article_language, t.digest_mode, t.digest_minute, t.digest_weekday, t.timezone,
        t.cursor_article_id, t.last_digest_at, t.next_digest_at, t.link_previews,
        c.type = 'channel',
        json((SELECT json_group_array(json_array(s.id, s.kind, s.value))
              FROM subscriptions AS s WHERE s.target_id = t.id))
    ) AS run
""",
    "postgresql": """
    json_build_array(
        t.id, t.chat_id, t.thread_id, t.active <> 0 AND c.active <> 0, t.ui_language,
        t.article_language, t.digest_mode, t.digest_minute, t.digest_weekday, t.timezone,
        t.cursor_article_id, t.last_digest_at, t.next_digest_at, t.link_previews,
        c.type = 'channel',
        coalesce((SELECT json_agg(json_build_array(s.id, s.kind, s.value))
                  FROM subscriptions AS s WHERE s.target_id = t.id), '[]'::json)
    ) AS run
""",
}
_RUN_PAGE: dict[Dialect, str] = {
    "sqlite": "SELECT json_group_array(json(run)) FROM ({page})",
    "postgresql": "SELECT CAST(json_agg(run) AS text) FROM ({page}) AS page_rows",
}


def _topics_first(subscription: Subscription) -> tuple[bool, int]:
    return subscription.kind != "topic", subscription.id


def _run_targets(page: str | None, order: Callable[[Target], tuple[int, int]]) -> list[RunTarget]:
    """The page's targets, put back in its order: an aggregate's order is the database's."""
    found = []
    for row in json.loads(page or "[]"):
        row[3] = bool(row[3])
        row[13] = bool(row[13])
        target = Target(*row[:14])
        subscriptions = [Subscription(id, target.id, kind, value) for id, kind, value in row[15]]
        if len(subscriptions) > 1:
            subscriptions.sort(key=_topics_first)
        found.append(RunTarget(target, subscriptions, bool(row[14])))
    found.sort(key=lambda run: order(run.target))
    return found


def _by_due_time(target: Target) -> tuple[int, int]:
    return target.next_digest_at or 0, target.id


def _by_cursor(target: Target) -> tuple[int, int]:
    return target.cursor_article_id, target.id


@dataclass(frozen=True)
class DigestCommit:
    """What one target's digest changes. `messages` may be empty (nothing new):
    the cursor and schedule still move.

    The update applies only if the target still has `expected_cursor` and
    `expected_next`; `keep_schedule` leaves next_digest_at alone (/digest).
    """

    target_id: int
    expected_cursor: int
    expected_next: int | None
    cursor: int
    next_digest_at: int | None
    messages: Sequence[NewMessage] = field(default=())
    keep_schedule: bool = False
    shared: Sequence[SharedRow] = field(default=())
    """Digest pages whose whole request many targets share, in order: queued
    after `messages` (a commit usually has one or the other)."""

    @property
    def queued(self) -> int:
        return len(self.messages) + len(self.shared)


_DUE_IDS: dict[Dialect, str] = {
    "sqlite": """
    WITH page AS (
        SELECT id, next_digest_at FROM targets
        WHERE next_digest_at = :at AND id > :id AND next_digest_at <= :now
        UNION ALL
        SELECT id, next_digest_at FROM targets
        WHERE next_digest_at > :at AND next_digest_at <= :now
        ORDER BY next_digest_at, id
        LIMIT :limit
    )
""",
    # PostgreSQL's targets_due holds the times alone, not each time's targets
    # in id order: each part has its own order and limit, so the planner can
    # walk the primary key on from `:id` through the targets of a common time
    # (or the index, for a rare one) and stop at the page's end, where one
    # order for the union sorted every target left of that time, each page.
    "postgresql": """
    WITH page AS (
        (SELECT id, next_digest_at FROM targets
         WHERE next_digest_at = :at AND id > :id AND next_digest_at <= :now
         ORDER BY id LIMIT :limit)
        UNION ALL
        (SELECT id, next_digest_at FROM targets
         WHERE next_digest_at > :at AND next_digest_at <= :now
         ORDER BY next_digest_at, id LIMIT :limit)
        ORDER BY next_digest_at, id
        LIMIT :limit
    )
""",
}
_DUE_PAGE = """
    SELECT {columns} FROM page
    JOIN targets AS t ON t.id = page.id JOIN chats AS c ON c.chat_id = t.chat_id
    ORDER BY page.next_digest_at, page.id
"""


async def due_targets(
    db: Database, now: int, *, after: tuple[int, int] = (-1, 0), limit: int = 500
) -> list[Target]:
    """Targets with next_digest_at <= now, in (next_digest_at, id) order after the
    keyset `after`, read through the targets_due index.

    Most targets share a digest time (08:00 is the default), and the index holds
    (next_digest_at, rowid): the rest of `after`'s time and the times after it
    are two seeks, where `(time, id) > (:at, :id)` would walk every target of
    that time before `after` again for each page, quadratic in a run."""
    rows = await db.fetchall(
        _DUE_IDS[db.dialect] + _DUE_PAGE.format(columns=_TARGET_COLUMNS[db.dialect]),
        {"now": now, "at": after[0], "id": after[1], "limit": limit},
    )
    return [_target(row) for row in rows]


async def due_run(
    db: Database, now: int, *, after: tuple[int, int] = (-1, 0), limit: int = 500
) -> list[RunTarget]:
    """`due_targets`, each with what its digest needs (`RunTarget`), in one read."""
    page = await db.fetchval(
        _RUN_PAGE[db.dialect].format(
            page=_DUE_IDS[db.dialect] + _DUE_PAGE.format(columns=_RUN_ROW[db.dialect])
        ),
        {"now": now, "at": after[0], "id": after[1], "limit": limit},
    )
    return _run_targets(page, _by_due_time)


async def oldest_due_cursor(db: Database, now: int) -> int | None:
    """The lowest cursor among due targets: where their common article window starts."""
    value = await db.fetchval(
        "SELECT min(cursor_article_id) FROM targets"
        " WHERE next_digest_at IS NOT NULL AND next_digest_at <= ?",
        (now,),
    )
    return None if value is None else int(value)


async def unscheduled_targets(db: Database, *, after_id: int = 0, limit: int = 500) -> list[Target]:
    """Daily or weekly targets without a next time (new, or switched without one)."""
    columns = _TARGET_COLUMNS[db.dialect]
    rows = await db.fetchall(
        f"""
        SELECT {columns} FROM targets AS t JOIN chats AS c ON c.chat_id = t.chat_id
        WHERE t.next_digest_at IS NULL AND t.digest_mode IN ('daily', 'weekly') AND t.id > ?
        ORDER BY t.id LIMIT ?
        """,
        (after_id, limit),
    )
    return [_target(row) for row in rows]


async def set_schedules(db: Database, schedules: Iterable[tuple[int, int | None]]) -> None:
    """Set next_digest_at for (target id, time) pairs, only where it is still unset."""
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE targets SET next_digest_at = ? WHERE id = ? AND next_digest_at IS NULL",
            [(moment, target_id) for target_id, moment in schedules],
        )


_INSTANT_PAGE: dict[Dialect, str] = {
    "sqlite": """
    WITH page AS (
        SELECT id, cursor_article_id FROM targets
        WHERE digest_mode = 'instant' AND cursor_article_id = :cursor AND id > :id
          AND cursor_article_id < :upto
        UNION ALL
        SELECT id, cursor_article_id FROM targets
        WHERE digest_mode = 'instant' AND cursor_article_id > :cursor
          AND cursor_article_id < :upto
        ORDER BY cursor_article_id, id
        LIMIT :limit
    )
    SELECT {columns} FROM page
    JOIN targets AS t ON t.id = page.id JOIN chats AS c ON c.chat_id = t.chat_id
    ORDER BY page.cursor_article_id, page.id
""",
    # Each part with its own order and limit, as `_DUE_IDS` says why.
    "postgresql": """
    WITH page AS (
        (SELECT id, cursor_article_id FROM targets
         WHERE digest_mode = 'instant' AND cursor_article_id = :cursor AND id > :id
           AND cursor_article_id < :upto
         ORDER BY id LIMIT :limit)
        UNION ALL
        (SELECT id, cursor_article_id FROM targets
         WHERE digest_mode = 'instant' AND cursor_article_id > :cursor
           AND cursor_article_id < :upto
         ORDER BY cursor_article_id, id LIMIT :limit)
        ORDER BY cursor_article_id, id
        LIMIT :limit
    )
    SELECT {columns} FROM page
    JOIN targets AS t ON t.id = page.id JOIN chats AS c ON c.chat_id = t.chat_id
    ORDER BY page.cursor_article_id, page.id
""",
}


async def instant_targets(
    db: Database, upto_id: int, *, after: tuple[int, int] = (-1, 0), limit: int = 500
) -> list[Target]:
    """Instant targets whose cursor is behind `upto_id`, in (cursor, id) order after
    the keyset `after`, read through the targets_instant index: two seeks, as in
    `due_targets` (instant targets mostly share the cursor of the last run)."""
    rows = await db.fetchall(
        _INSTANT_PAGE[db.dialect].format(columns=_TARGET_COLUMNS[db.dialect]),
        {"upto": upto_id, "cursor": after[0], "id": after[1], "limit": limit},
    )
    return [_target(row) for row in rows]


async def instant_run(
    db: Database, upto_id: int, *, after: tuple[int, int] = (-1, 0), limit: int = 500
) -> list[RunTarget]:
    """`instant_targets`, each with what its digest needs (`RunTarget`), in one read."""
    page = await db.fetchval(
        _RUN_PAGE[db.dialect].format(
            page=_INSTANT_PAGE[db.dialect].format(columns=_RUN_ROW[db.dialect])
        ),
        {"upto": upto_id, "cursor": after[0], "id": after[1], "limit": limit},
    )
    return _run_targets(page, _by_cursor)


async def oldest_instant_cursor(db: Database, upto_id: int) -> int | None:
    value = await db.fetchval(
        "SELECT min(cursor_article_id) FROM targets"
        " WHERE digest_mode = 'instant' AND cursor_article_id < ?",
        (upto_id,),
    )
    return None if value is None else int(value)


_QUERY_FILTERS: dict[Dialect, str] = {
    "sqlite": """
  AND (:language IS NULL OR a.language = :language)
  AND NOT EXISTS (
      SELECT 1 FROM json_each(:topics) AS wanted
      WHERE NOT EXISTS (SELECT 1 FROM article_topics AS at
                        WHERE at.article_id = a.id AND at.topic = wanted.value))
""",
    "postgresql": """
  AND (:language IS NULL OR a.language = :language)
  AND NOT EXISTS (
      SELECT 1 FROM json_array_elements_text(CAST(:topics AS json)) AS wanted (value)
      WHERE NOT EXISTS (SELECT 1 FROM article_topics AS at
                        WHERE at.article_id = a.id AND at.topic = wanted.value))
""",
}
"""A keyword query's own lang: and topic: filters on its matches `a`, whichever
articles they are drawn from (`keyword_matches`, `keyword_matches_among`)."""

# The articles a keyword query's words match, among those the caller names
# (`{ids}`). `:match` is the words in the engine's syntax (`_match_text`): an
# FTS5 expression on SQLite; on PostgreSQL a text for `to_tsquery('simple', …)`,
# matched against the document `article_search` keeps of each article's words.
_MATCHES: dict[Dialect, str] = {
    "sqlite": (
        "SELECT article_search.rowid FROM article_search"
        " JOIN articles AS a ON a.id = article_search.rowid"
        " WHERE article_search MATCH :match"
        " AND {ids}"
    ),
    "postgresql": (
        "SELECT article_search.rowid FROM article_search"
        " JOIN articles AS a ON a.id = article_search.rowid"
        " WHERE article_search.document @@ to_tsquery('simple', :match)"
        " AND {ids}"
    ),
}


def _match_text(dialect: Dialect, match: TextMatch | None) -> str | None:
    """A query's words as the engine's full-text search takes them."""
    if match is None:
        return None
    return fts5(match) if dialect == "sqlite" else tsquery(match)


def _ids_in(dialect: Dialect, parameter: str) -> str:
    """The `parameter`, a JSON array of ids, as a set to test a column against."""
    if dialect == "sqlite":
        return f"(SELECT value FROM json_each({parameter}))"
    return (
        f"(SELECT CAST(value AS bigint) FROM json_array_elements_text(CAST({parameter} AS json)))"
    )


async def keyword_matches(
    db: Database,
    match: TextMatch | None,
    *,
    after_id: int,
    upto_id: int,
    language: str | None = None,
    topics: Sequence[str] = (),
) -> frozenset[int]:
    """Ids in (after_id, upto_id] matching a parsed query: its words (from
    `bot.search`, never raw user text; None when it has only filters) and its
    own lang:/topic: filters.
    Called once per distinct query for all the targets that follow it."""
    source = (
        _MATCHES[db.dialect].format(
            ids="article_search.rowid > :after AND article_search.rowid <= :upto"
        )
        if match is not None
        else "SELECT a.id FROM articles AS a WHERE a.id > :after AND a.id <= :upto"
    )
    rows = await db.fetchall(
        source + _QUERY_FILTERS[db.dialect],
        {
            "match": _match_text(db.dialect, match),
            "after": after_id,
            "upto": upto_id,
            "language": language,
            "topics": json.dumps(list(topics)),
        },
    )
    return frozenset(row[0] for row in rows)


async def keyword_matches_among(
    db: Database,
    match: TextMatch | None,
    article_ids: Sequence[int],
    *,
    language: str | None = None,
    topics: Sequence[str] = (),
) -> frozenset[int]:
    """Which of `article_ids` match a parsed query, as `keyword_matches` says
    for a range: for the few articles a run looks at outside its window (the
    earlier versions of its new articles). Once per distinct query."""
    if not article_ids:
        return frozenset()
    ids = _ids_in(db.dialect, ":ids")
    source = (
        _MATCHES[db.dialect].format(ids=f"article_search.rowid IN {ids}")
        if match is not None
        else f"SELECT a.id FROM articles AS a WHERE a.id IN {ids}"
    )
    rows = await db.fetchall(
        source + _QUERY_FILTERS[db.dialect],
        {
            "match": _match_text(db.dialect, match),
            "ids": json.dumps([int(i) for i in article_ids]),
            "language": language,
            "topics": json.dumps(list(topics)),
        },
    )
    return frozenset(row[0] for row in rows)


async def channel_ids(db: Database, chat_ids: Sequence[int]) -> set[int]:
    """Which of these chats are channels (they get one post per article when instant)."""
    rows = await db.fetchall(
        "SELECT chat_id FROM chats WHERE type = 'channel'"
        f" AND chat_id IN {_ids_in(db.dialect, '?')}",
        (json.dumps(sorted(set(chat_ids))),),
    )
    return {row[0] for row in rows}


async def subscriptions_of(
    db: Database, target_ids: Sequence[int]
) -> dict[int, list[Subscription]]:
    """Every subscription of these targets, topics first, in one query."""
    rows = await db.fetchall(
        "SELECT id, target_id, kind, value FROM subscriptions"
        f" WHERE target_id IN {_ids_in(db.dialect, '?')}"
        " ORDER BY target_id, kind DESC, id",
        (json.dumps(list(target_ids)),),
    )
    found: dict[int, list[Subscription]] = {target_id: [] for target_id in target_ids}
    for row in rows:
        found[row[1]].append(Subscription(row[0], row[1], row[2], row[3]))
    return found


async def commit_digest_tx(tx: Transaction, commit: DigestCommit, *, now: int) -> bool:
    """Inside the caller's transaction: move the target's cursor (and schedule)
    and queue its messages. False, and nothing written, when the target changed
    since it was read (another builder got there first, or its settings moved)."""
    return bool(await tx.run(partial(_commit_on, commits=[commit], now=now)))


async def commit_digests(db: Database, commits: Sequence[DigestCommit], *, now: int) -> list[bool]:
    """Several targets' commits in one transaction, each one all-or-nothing as
    in `commit_digest_tx`; which of them applied.

    The whole transaction is one trip to the writer's thread (`Database.write`),
    and the targets of a run mostly move alike (same cursor, same next time):
    the cursors move in one UPDATE per distinct change naming its targets by
    id, and the messages go in a statement or two. With a statement per
    target, the trips cost more than SQLite's work; with each target's values
    spelled out in JSON, reading them back cost more than the update."""
    if not commits:
        return []
    applied = await db.write(partial(_commit_on, commits=commits, now=now))
    return [commit.target_id in applied for commit in commits]


# Move the cursor and schedule of the targets `:ids` that are still as read. On
# PostgreSQL other processes may write at once: the condition is checked again
# on the row as it is when its lock is had, so of two racing builders one moves
# the target and the other finds it moved. (Python's booleans reach PostgreSQL
# as the 0/1 flags SQLite stores.)
_MOVE: dict[Dialect, str] = {
    "sqlite": """
            UPDATE targets SET
                cursor_article_id = max(cursor_article_id, :cursor),
                last_digest_at = CASE WHEN :delivered THEN :now ELSE last_digest_at END,
                next_digest_at = CASE WHEN :keep THEN next_digest_at ELSE :next END
            WHERE id IN (SELECT value FROM json_each(:ids))
              AND cursor_article_id = :expected_cursor
              AND (:keep OR next_digest_at IS :expected_next)
            RETURNING id
            """,
    "postgresql": """
            UPDATE targets SET
                cursor_article_id = greatest(cursor_article_id, :cursor),
                last_digest_at = CASE WHEN :delivered <> 0 THEN :now ELSE last_digest_at END,
                next_digest_at = CASE WHEN :keep <> 0 THEN next_digest_at ELSE :next END
            WHERE id IN (SELECT CAST(value AS bigint)
                         FROM json_array_elements_text(CAST(:ids AS json)))
              AND cursor_article_id = :expected_cursor
              AND (:keep <> 0 OR next_digest_at IS NOT DISTINCT FROM :expected_next)
            RETURNING id
            """,
}


def _dialect_of(conn: Connection) -> Dialect:
    """The engine of a transaction's connection: `commit_digest_tx` is handed an
    open transaction, which does not say (SQLite's is its sqlite3.Connection)."""
    return "sqlite" if isinstance(conn, sqlite3.Connection) else "postgresql"


def _commit_on(conn: Connection, *, commits: Sequence[DigestCommit], now: int) -> set[int]:
    """The commits, on the writer's thread inside a transaction: which applied.

    On PostgreSQL, commits that queue messages take the outbox's turn before
    they lock a target: a group commit (`_groups_on_postgresql`) holds the turn
    while it locks its targets, and one that held a target while it waited for
    the turn would wait for it forever (until PostgreSQL aborts one of them)."""
    dialect = _dialect_of(conn)
    if dialect == "postgresql" and any(commit.queued for commit in commits):
        outbox.hold_queue_order_on(conn)
    move = _MOVE[dialect]
    alike: dict[tuple[int, int | None, int, int | None, bool, bool], list[int]] = {}
    for commit in commits:
        change = (
            commit.expected_cursor,
            commit.expected_next,
            commit.cursor,
            commit.next_digest_at,
            bool(commit.queued),
            commit.keep_schedule,
        )
        alike.setdefault(change, []).append(commit.target_id)
    applied: set[int] = set()
    for change, ids in alike.items():
        expected_cursor, expected_next, cursor, next_at, delivered, keep = change
        moved = conn.execute(
            move,
            {
                "ids": json.dumps(ids),
                "cursor": cursor,
                "delivered": delivered,
                "now": now,
                "keep": keep,
                "next": next_at,
                "expected_cursor": expected_cursor,
                "expected_next": expected_next,
            },
        )
        applied.update(row[0] for row in moved.fetchall())
    _enqueue_on(conn, [c for c in commits if c.target_id in applied], now=now)
    return applied


def _enqueue_on(conn: Connection, commits: Sequence[DigestCommit], *, now: int) -> None:
    """Queue the commits' messages in commit order: consecutive shared pages go
    in one statement, other messages in another."""
    messages: list[NewMessage] = []
    shared: list[SharedRow] = []
    for commit in commits:
        if commit.messages:
            if shared:
                outbox.enqueue_shared_on(conn, shared, kind="digest", method="sendMessage", now=now)
                shared = []
            messages.extend(commit.messages)
        if commit.shared:
            if messages:
                outbox.enqueue_on(conn, messages=messages, now=now)
                messages = []
            shared.extend(commit.shared)
    if messages:
        outbox.enqueue_on(conn, messages=messages, now=now)
    if shared:
        outbox.enqueue_shared_on(conn, shared, kind="digest", method="sendMessage", now=now)


# --- due targets committed by group, set-wise ------------------------------------

# What a scheduled target's digest depends on: what it follows (the topics in
# one order: selection ranks them by the catalogue; its keyword queries in the
# order made: a digest names them so), kept by triggers in
# `targets.subscription_key`, and every setting the build and the next time
# read, with the cursor and time the commit expects. Targets alike in all of
# these get the very same digest and next time, so a run builds it once and
# the database fans it out (`commit_groups`). Plain columns: grouping by them costs
# SQLite a comparison of each, where one JSON key built per target cost it most
# of the read.
_SETTINGS = (
    "t.ui_language",
    "t.article_language",
    "t.digest_mode",
    "t.digest_minute",
    "CASE WHEN t.digest_mode = 'weekly' THEN t.digest_weekday ELSE 0 END",
    "t.timezone",
    "t.cursor_article_id",
    "t.next_digest_at",
    "t.link_previews",
    "c.type = 'channel'",
)
_GROUP_COLUMNS: dict[Dialect, tuple[str, ...]] = {
    "sqlite": (
        # Without the queries of :unmatched when it is given (those known to
        # match nothing new): they add nothing to a digest, and targets that
        # differ only in them are one group.
        """CASE WHEN :unmatched IS NULL OR substr(t.subscription_key, -4) = ',[]]'
        THEN t.subscription_key
        ELSE json_array(json(t.subscription_key -> 0), json((
            SELECT json_group_array(q.value) FROM json_each(t.subscription_key, '$[1]') AS q
            WHERE q.value NOT IN (SELECT value FROM json_each(:unmatched)))))
    END""",
        "t.active AND c.active",
        *_SETTINGS,
    ),
    # The key as jsonb: a key without some queries is built there by jsonb's
    # functions, not as SQLite's text, and is grouped with the stored keys
    # equal to it in value, not in spelling.
    "postgresql": (
        """CASE WHEN :unmatched IS NULL OR right(t.subscription_key, 4) = ',[]]'
        THEN CAST(t.subscription_key AS jsonb)
        ELSE jsonb_build_array(CAST(t.subscription_key AS jsonb) -> 0, (
            SELECT coalesce(jsonb_agg(q.value ORDER BY q.n), CAST('[]' AS jsonb))
            FROM jsonb_array_elements(CAST(t.subscription_key AS jsonb) -> 1)
                 WITH ORDINALITY AS q (value, n)
            WHERE q.value NOT IN (
                SELECT jsonb_array_elements(CAST(:unmatched AS jsonb)))))
    END""",
        "t.active <> 0 AND c.active <> 0",
        *_SETTINGS,
    ),
}
_KEYED = {
    dialect: ", ".join(f"{column} AS k{i}" for i, column in enumerate(columns))
    for dialect, columns in _GROUP_COLUMNS.items()
}
_KEYS = ", ".join(f"k{i}" for i in range(len(_SETTINGS) + 2))


class DigestGroup(NamedTuple):
    """Due targets that get the same digest (`_GROUP_COLUMNS`)."""

    target: Target
    """A stand-in with the group's settings, cursor and time (id and chat 0)."""
    topics: tuple[str, ...]
    queries: tuple[str, ...]
    """The group's keyword queries, in the order made."""
    channel: bool
    targets: int
    ids: str
    """The targets' ids, a JSON array handed back to the database as it came."""


class GroupPage(NamedTuple):
    groups: list[DigestGroup]
    last: tuple[int, int] | None
    """The page's last target (next_digest_at, id); None when no target is due after it."""
    full: bool
    """Whether the page held `limit` targets (more may follow)."""


_DUE_QUERIES: dict[Dialect, str] = {
    "sqlite": """
        SELECT json_group_array(DISTINCT q.value)
        FROM targets AS t, json_each(t.subscription_key, '$[1]') AS q
        WHERE t.next_digest_at <= :now AND t.digest_mode IN ('daily', 'weekly')
          AND substr(t.subscription_key, -4) <> ',[]]'
        """,
    "postgresql": """
        SELECT CAST(coalesce(json_agg(DISTINCT q.value), CAST('[]' AS json)) AS text)
        FROM targets AS t,
             jsonb_array_elements_text(CAST(t.subscription_key AS jsonb) -> 1) AS q (value)
        WHERE t.next_digest_at <= :now AND t.digest_mode IN ('daily', 'weekly')
          AND right(t.subscription_key, 4) <> ',[]]'
        """,
}


async def due_queries(db: Database, now: int) -> list[str]:
    """The keyword queries of every daily or weekly target due at `now` (each
    text once): what a run evaluates before it reads its first page of groups
    (`due_groups`). One read for the whole run, so that no page waits on a
    read of its own queries first: the next page's groups are then read while
    this one's digests are built."""
    found = await db.fetchval(_DUE_QUERIES[db.dialect], {"now": now})
    texts: list[str] = json.loads(found)
    return texts


async def due_groups(
    db: Database,
    now: int,
    *,
    after: tuple[int, int] = (-1, 0),
    limit: int = 10_000,
    unmatched: Iterable[str] | None = None,
) -> GroupPage:
    """The next `limit` due targets after the keyset `after` (as `due_run` pages
    them), as the groups of those alike in all that makes their digest
    (`_GROUP_COLUMNS`; those not daily or weekly are left out). One read; the
    grouping is the database's, and a group's targets stay one JSON array:
    nothing is done per target here. `unmatched`: keyword queries known to
    match nothing in the run's window; a group then has only the others
    (targets that differ only in those get the same digest, and are one group)."""
    # PostgreSQL gives the ids in order, and the key (grouped as jsonb) as text.
    ids, keys = (
        ("json_group_array(id)", _KEYS)
        if db.dialect == "sqlite"
        else ("CAST(json_agg(id ORDER BY id) AS text)", _KEYS.replace("k0", "CAST(k0 AS text)", 1))
    )
    rows = await db.fetchall(
        _DUE_IDS[db.dialect]
        + f"""
        , keyed AS MATERIALIZED (
            SELECT page.id, page.next_digest_at, t.digest_mode IN ('daily', 'weekly') AS grouped,
                   {_KEYED[db.dialect]}
            FROM page JOIN targets AS t ON t.id = page.id JOIN chats AS c ON c.chat_id = t.chat_id
        )
        SELECT count(*), {ids}, NULL, NULL, {keys}
        FROM keyed WHERE grouped GROUP BY {_KEYS}
        UNION ALL
        SELECT count(*), NULL, max(next_digest_at),
               (SELECT id FROM keyed ORDER BY next_digest_at DESC, id DESC LIMIT 1),
               {", ".join("NULL" for _ in _GROUP_COLUMNS[db.dialect])}
        FROM keyed
        """,
        {
            "now": now,
            "at": after[0],
            "id": after[1],
            "limit": limit,
            "unmatched": None if unmatched is None else json.dumps(list(unmatched)),
        },
    )
    groups = []
    last: tuple[int, int] | None = None
    full = False
    for count, ids, last_at, last_id, *key in rows:
        if ids is None:  # the page's own row
            last = None if last_id is None else (last_at, last_id)
            full = count >= limit
            continue
        (following, active, ui, article, mode, minute, weekday, zone, cursor, due, previews,
         channel) = key  # fmt: skip
        topics, queries = json.loads(following)
        target = Target(
            0, 0, 0, bool(active), ui, article, mode, minute, weekday, zone, cursor, None, due,
            bool(previews),
        )  # fmt: skip
        groups.append(DigestGroup(target, tuple(topics), tuple(queries), bool(channel), count, ids))
    return GroupPage(groups, last, full)


@dataclass(frozen=True)
class GroupDigest:
    """What every target of a `DigestGroup` gets: the same pages and next time."""

    next_digest_at: int | None
    pages: Sequence[outbox.SharedPart]


# A page's targets that still have the cursor and time they were read with,
# each with its group's next time and pages (the JSON array of their
# `outbox_payloads` ids, in order).
_GROUP_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS digest_run_targets (id INTEGER PRIMARY KEY,"
    " chat_id INTEGER, thread_id INTEGER, due_at INTEGER, g INTEGER, next_at INTEGER,"
    " payloads TEXT)"
)
# PostgreSQL's, on the writer's session: emptied by each commit that used it
# (a failed statement leaves the transaction unable to run another DELETE,
# and the rollback takes the rows away anyway); the pages as jsonb.
_GROUP_TABLE_POSTGRESQL = (
    "CREATE TEMP TABLE IF NOT EXISTS digest_run_targets (id BIGINT PRIMARY KEY,"
    " chat_id BIGINT, thread_id BIGINT, due_at BIGINT, g BIGINT, next_at BIGINT,"
    " payloads JSONB) ON COMMIT DELETE ROWS"
)


async def commit_groups(
    db: Database,
    groups: Sequence[tuple[DigestGroup, GroupDigest]],
    *,
    now: int,
    upto_id: int,
) -> list[int]:
    """For each group, in one transaction: each target of it that still has
    the cursor and next time the group was read with gets the group's pages
    queued and its cursor and schedule moved, as `commit_digests` does target
    by target, with no Python work per target. How many of each group's
    targets were committed; the others are left as they are."""
    if not groups:
        return []
    work = _groups_on if db.dialect == "sqlite" else _groups_on_postgresql
    return await db.write(partial(work, groups=groups, now=now, upto=upto_id))


def _groups_document(conn: Connection, groups: Sequence[tuple[DigestGroup, GroupDigest]]) -> str:
    """The groups as one JSON array, one element each: its targets' ids, the
    cursor and time they were read with, their next time and their pages (the
    `outbox_payloads` ids, stored here if new). The ids go back as they came,
    spliced into the document unparsed."""
    parts = outbox._store_parts(conn, [part for _, d in groups for part in d.pages])
    document = ",".join(
        f"[{group.ids},{group.target.cursor_article_id},{group.target.next_digest_at},"
        f"{json.dumps(digest.next_digest_at)},"
        f"[{','.join(str(parts[part.digest]) for part in digest.pages)}]]"
        for group, digest in groups
    )
    return f"[{document}]"


def _groups_on(
    conn: Connection,
    *,
    groups: Sequence[tuple[DigestGroup, GroupDigest]],
    now: int,
    upto: int,
) -> list[int]:
    # Few statements, each over the whole page: the writer's thread waits for
    # the interpreter lock after each one, while the event loop builds the
    # next page's digests.
    conn.execute(_GROUP_TABLE)
    try:
        document = _groups_document(conn, groups)
        # The targets that still have the cursor and time they were read with
        # (CROSS JOIN: by their ids, never by a scan of the targets due then).
        conn.execute(
            """
            INSERT INTO temp.digest_run_targets (id, chat_id, thread_id, due_at, g, next_at,
                                                 payloads)
            WITH g AS MATERIALIZED (
                SELECT key AS g, value -> 0 AS ids, value ->> 1 AS cursor, value ->> 2 AS due_at,
                       value ->> 3 AS next_at, value -> 4 AS payloads
                FROM json_each(?)
            )
            SELECT t.id, t.chat_id, t.thread_id, t.next_digest_at, g.g, g.next_at, g.payloads
            FROM g CROSS JOIN json_each(g.ids) AS i CROSS JOIN targets AS t ON t.id = i.value
            WHERE t.cursor_article_id = g.cursor AND t.next_digest_at = g.due_at
            """,
            (document,),
        )
        conn.execute(
            """
            INSERT INTO outbox (chat_id, thread_id, target_id, kind, priority, method, payload,
                                payload_id, not_before, created_at)
            SELECT p.chat_id, p.thread_id, p.id, 'digest', :priority, 'sendMessage', '{}',
                   page.value, 0.0, :now
            FROM temp.digest_run_targets AS p CROSS JOIN json_each(p.payloads) AS page
            ORDER BY p.due_at, p.id, page.key
            """,
            {"priority": outbox.DEFAULT_PRIORITY["digest"], "now": now},
        )
        # The IN lets SQLite walk the page and seek each target, not scan them all.
        conn.execute(
            """
            UPDATE targets SET
                cursor_article_id = max(targets.cursor_article_id, :upto),
                last_digest_at = CASE WHEN p.payloads = '[]' THEN targets.last_digest_at
                                      ELSE :now END,
                next_digest_at = p.next_at
            FROM temp.digest_run_targets AS p
            WHERE targets.id = p.id AND targets.id IN (SELECT id FROM temp.digest_run_targets)
            """,
            {"upto": upto, "now": now},
        )
        # One row: a row a group would be a turn of the interpreter lock each.
        counted = conn.execute(
            "SELECT json_group_object(g, n)"
            " FROM (SELECT g, count(*) AS n FROM temp.digest_run_targets GROUP BY g)"
        ).fetchone()[0]
        committed = {int(g): n for g, n in json.loads(counted).items()}
    finally:
        conn.execute("DELETE FROM temp.digest_run_targets")
    return [committed.get(g, 0) for g in range(len(groups))]


def _groups_on_postgresql(
    conn: Connection,
    *,
    groups: Sequence[tuple[DigestGroup, GroupDigest]],
    now: int,
    upto: int,
) -> list[int]:
    """`_groups_on` on PostgreSQL. Other processes may write the same targets
    at once: the targets the page still has as read are locked as they are
    picked (FOR UPDATE, which checks the cursor and time again on a row another
    transaction has just changed), so none is queued twice or moved under it.
    The outbox's turn comes first, as in `_commit_on`: no transaction holds a
    target while it waits for the turn."""
    if any(digest.pages for _, digest in groups):
        outbox.hold_queue_order_on(conn)
    conn.execute(_GROUP_TABLE_POSTGRESQL)
    # The targets by id, the page's pairs of group and target first: joined as
    # the planner likes, the document's groups matched every target due then.
    conn.execute(
        """
        WITH picked AS MATERIALIZED (
            SELECT g.n - 1 AS g, CAST(i.value AS bigint) AS id,
                   CAST(g.value ->> 1 AS bigint) AS cursor, CAST(g.value ->> 2 AS bigint) AS due_at,
                   CAST(g.value ->> 3 AS bigint) AS next_at, g.value -> 4 AS payloads
            FROM jsonb_array_elements(CAST(? AS jsonb)) WITH ORDINALITY AS g (value, n)
            CROSS JOIN LATERAL jsonb_array_elements_text(g.value -> 0) AS i (value)
        )
        INSERT INTO digest_run_targets (id, chat_id, thread_id, due_at, g, next_at, payloads)
        SELECT t.id, t.chat_id, t.thread_id, t.next_digest_at, p.g, p.next_at, p.payloads
        FROM picked AS p JOIN targets AS t ON t.id = p.id
        WHERE t.cursor_article_id = p.cursor AND t.next_digest_at = p.due_at
        FOR UPDATE OF t
        """,
        (_groups_document(conn, groups),),
    )
    conn.execute(
        """
        INSERT INTO outbox (chat_id, thread_id, target_id, kind, priority, method, payload,
                            payload_id, not_before, created_at)
        SELECT p.chat_id, p.thread_id, p.id, 'digest', :priority, 'sendMessage', '{}',
               CAST(page.value AS bigint), 0.0, :now
        FROM digest_run_targets AS p
        CROSS JOIN LATERAL jsonb_array_elements_text(p.payloads) WITH ORDINALITY AS page (value, n)
        ORDER BY p.due_at, p.id, page.n
        """,
        {"priority": outbox.DEFAULT_PRIORITY["digest"], "now": now},
    )
    conn.execute(
        """
        UPDATE targets SET
            cursor_article_id = greatest(targets.cursor_article_id, :upto),
            last_digest_at = CASE WHEN p.payloads = CAST('[]' AS jsonb) THEN targets.last_digest_at
                                  ELSE :now END,
            next_digest_at = p.next_at
        FROM digest_run_targets AS p
        WHERE targets.id = p.id
        """,
        {"upto": upto, "now": now},
    )
    counted = conn.execute("SELECT g, count(*) FROM digest_run_targets GROUP BY g").fetchall()
    committed = {int(g): int(n) for g, n in counted}
    return [committed.get(g, 0) for g in range(len(groups))]
