"""Feeds the poller reads: from feeds.toml or added by admins, with their poll state.

A feed's state lives in its row: the HTTP validators for conditional GETs,
when to poll next, and how long it has been failing. A feed failing for
`FAILING_AFTER` seconds is reported to the admins once; the report flag and
the notices are written in one transaction, so a crash cannot repeat them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

from bot.store import outbox
from bot.store.db import Database, Dialect, Row
from bot.store.outbox import NewMessage

FeedOrigin = Literal["config", "admin"]
FeedStatus = Literal["new", "ok", "retrying", "failing", "removed"]

FAILING_AFTER: Final = 24 * 3600
ERROR_LIMIT: Final = 300


@dataclass(frozen=True)
class FeedConfig:
    """One `[[feed]]` of feeds.toml."""

    url: str
    title: str | None = None
    language: str | None = None
    poll_minutes: int | None = None


@dataclass(frozen=True)
class Feed:
    id: int
    url: str
    title: str | None
    language: str | None
    poll_minutes: int | None
    origin: FeedOrigin
    etag: str | None
    last_modified: str | None
    added_at: int
    added_by: int | None
    removed_at: int | None
    last_polled_at: int | None
    last_ok_at: int | None
    last_new_at: int | None
    next_poll_at: int
    failure_count: int
    failing_since: int | None
    failure_reported: bool
    last_error: str | None

    @property
    def name(self) -> str:
        return self.title or self.url

    def status(self, now: int) -> FeedStatus:
        if self.removed_at is not None:
            return "removed"
        if self.failure_reported or (
            self.failing_since is not None and now - self.failing_since >= FAILING_AFTER
        ):
            return "failing"
        if self.failure_count:
            return "retrying"
        return "ok" if self.last_ok_at is not None else "new"


@dataclass(frozen=True)
class SyncReport:
    added: int = 0
    updated: int = 0
    removed: int = 0


def _feed(row: Row) -> Feed:
    return Feed(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        language=row["language"],
        poll_minutes=row["poll_minutes"],
        origin=row["origin"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        added_at=row["added_at"],
        added_by=row["added_by"],
        removed_at=row["removed_at"],
        last_polled_at=row["last_polled_at"],
        last_ok_at=row["last_ok_at"],
        last_new_at=row["last_new_at"],
        next_poll_at=row["next_poll_at"],
        failure_count=row["failure_count"],
        failing_since=row["failing_since"],
        failure_reported=bool(row["failure_reported"]),
        last_error=row["last_error"],
    )


async def sync_config(db: Database, feeds: Sequence[FeedConfig], *, now: int) -> SyncReport:
    """Make the configured feeds match feeds.toml. Listed feeds are polled
    (unless an admin removed them); config feeds no longer listed stop."""
    urls = [feed.url for feed in feeds]
    added = updated = 0
    async with db.transaction() as tx:
        for feed in feeds:
            exists = await (
                await tx.execute("SELECT 1 FROM feeds WHERE url = ?", (feed.url,))
            ).fetchone()
            await tx.execute(
                """
                INSERT INTO feeds (url, title, language, poll_minutes, origin, added_at,
                                   next_poll_at)
                VALUES (:url, :title, :language, :poll_minutes, 'config', :now, :now)
                ON CONFLICT (url) DO UPDATE SET
                    title = coalesce(excluded.title, feeds.title),
                    language = excluded.language,
                    poll_minutes = excluded.poll_minutes,
                    origin = 'config',
                    next_poll_at = CASE WHEN feeds.removed_by = 'config'
                                        THEN excluded.next_poll_at ELSE feeds.next_poll_at END,
                    removed_at = CASE WHEN feeds.removed_by = 'config'
                                      THEN NULL ELSE feeds.removed_at END,
                    removed_by = CASE WHEN feeds.removed_by = 'config'
                                      THEN NULL ELSE feeds.removed_by END
                """,
                {
                    "url": feed.url,
                    "title": feed.title,
                    "language": feed.language,
                    "poll_minutes": feed.poll_minutes,
                    "now": now,
                },
            )
            if exists:
                updated += 1
            else:
                added += 1
        cursor = await tx.execute(_UNLISTED[db.dialect], (now, _texts(db.dialect, urls)))
        removed = cursor.rowcount
    return SyncReport(added, updated, removed)


async def add_feed(
    db: Database,
    url: str,
    *,
    now: int,
    title: str | None = None,
    language: str | None = None,
    poll_minutes: int | None = None,
    added_by: int | None = None,
) -> tuple[Feed, bool]:
    """Start polling a feed (now). Returns the feed and whether it was new or
    had been removed; (feed, False) when it was already being polled."""
    async with db.transaction() as tx:
        row = await (await tx.execute("SELECT * FROM feeds WHERE url = ?", (url,))).fetchone()
        changed = row is None or row["removed_at"] is not None
        await tx.execute(
            """
            INSERT INTO feeds (url, title, language, poll_minutes, origin, added_at, added_by,
                               next_poll_at)
            VALUES (:url, :title, :language, :poll_minutes, 'admin', :now, :added_by, :now)
            ON CONFLICT (url) DO UPDATE SET
                title = coalesce(excluded.title, feeds.title),
                language = coalesce(excluded.language, feeds.language),
                poll_minutes = coalesce(excluded.poll_minutes, feeds.poll_minutes),
                next_poll_at = CASE WHEN feeds.removed_at IS NULL
                                    THEN feeds.next_poll_at ELSE excluded.next_poll_at END,
                removed_at = NULL,
                removed_by = NULL
            """,
            {
                "url": url,
                "title": title,
                "language": language,
                "poll_minutes": poll_minutes,
                "now": now,
                "added_by": added_by,
            },
        )
        row = await (await tx.execute("SELECT * FROM feeds WHERE url = ?", (url,))).fetchone()
    assert row is not None
    return _feed(row), changed


async def remove_feed(db: Database, feed_id: int, *, now: int) -> Feed | None:
    """Stop polling a feed; its articles stay. None if there is no such active feed."""
    async with db.transaction() as tx:
        row = await (
            await tx.execute(
                "UPDATE feeds SET removed_at = ?, removed_by = 'admin'"
                " WHERE id = ? AND removed_at IS NULL RETURNING *",
                (now, feed_id),
            )
        ).fetchone()
    return None if row is None else _feed(row)


async def get_feed(db: Database, feed_id: int) -> Feed | None:
    row = await db.fetchone("SELECT * FROM feeds WHERE id = ?", (feed_id,))
    return None if row is None else _feed(row)


async def find_feed(db: Database, url: str) -> Feed | None:
    row = await db.fetchone("SELECT * FROM feeds WHERE url = ?", (url,))
    return None if row is None else _feed(row)


async def list_feeds(db: Database, *, include_removed: bool = False) -> list[Feed]:
    """Every feed with its state (see `Feed.status`), oldest first."""
    rows = await db.fetchall(_LIST[db.dialect], {"all": include_removed})
    return [_feed(row) for row in rows]


async def active_names(db: Database) -> dict[int, str]:
    """Each feed still read, by id: its title, or its address's host when it
    has none (what a reader would call the source)."""
    rows = await db.fetchall("SELECT id, title, url FROM feeds WHERE removed_at IS NULL")
    return {row["id"]: row["title"] or urlsplit(row["url"]).hostname or row["url"] for row in rows}


async def failing_count(db: Database) -> int:
    """Feeds in use whose last poll failed."""
    value = await db.fetchval(
        "SELECT count(*) FROM feeds WHERE removed_at IS NULL AND failure_count > 0"
    )
    return int(value)


async def due_feeds(db: Database, now: int, *, limit: int = 200) -> list[Feed]:
    """Active feeds whose next poll time has come, longest waiting first."""
    rows = await db.fetchall(
        "SELECT * FROM feeds WHERE removed_at IS NULL AND next_poll_at <= ?"
        " ORDER BY next_poll_at, id LIMIT ?",
        (now, limit),
    )
    return [_feed(row) for row in rows]


async def record_success(
    db: Database,
    feed_id: int,
    *,
    now: int,
    next_poll_at: int,
    etag: str | None,
    last_modified: str | None,
    new_count: int,
    title: str | None = None,
    recovered: Sequence[NewMessage] = (),
) -> bool:
    """A poll worked: keep the validators, clear the failure state. Returns True
    when the feed had been reported failing; `recovered` notices are queued then."""
    async with db.transaction() as tx:
        row = await (await tx.execute(_REPORTED[db.dialect], (feed_id,))).fetchone()
        await tx.execute(
            """
            UPDATE feeds SET
                etag = :etag, last_modified = :last_modified,
                title = coalesce(title, :title),
                last_polled_at = :now, last_ok_at = :now,
                last_new_at = CASE WHEN :new > 0 THEN :now ELSE last_new_at END,
                next_poll_at = :next,
                failure_count = 0, failing_since = NULL, failure_reported = 0, last_error = NULL
            WHERE id = :id
            """,
            {
                "id": feed_id,
                "etag": etag,
                "last_modified": last_modified,
                "title": title,
                "now": now,
                "new": new_count,
                "next": next_poll_at,
            },
        )
        was_reported = row is not None and bool(row[0])
        if was_reported:
            await outbox.enqueue_tx(tx, recovered, now=now)
    return was_reported


async def record_failure(
    db: Database,
    feed_id: int,
    *,
    now: int,
    next_poll_at: int,
    error: str,
    notices: Sequence[NewMessage] = (),
) -> bool:
    """A poll failed. Returns True when this failure is the one that reports the
    feed (failing for FAILING_AFTER seconds and not reported yet): `notices` are
    queued in the same transaction, so admins are told exactly once."""
    async with db.transaction() as tx:
        await tx.execute(
            """
            UPDATE feeds SET
                last_polled_at = :now, next_poll_at = :next,
                failure_count = failure_count + 1,
                failing_since = coalesce(failing_since, :now),
                last_error = :error
            WHERE id = :id
            """,
            {"id": feed_id, "now": now, "next": next_poll_at, "error": error[:ERROR_LIMIT]},
        )
        cursor = await tx.execute(
            "UPDATE feeds SET failure_reported = 1"
            " WHERE id = ? AND failure_reported = 0 AND failing_since <= ?",
            (feed_id, now - FAILING_AFTER),
        )
        reported = cursor.rowcount == 1
        if reported:
            await outbox.enqueue_tx(tx, notices, now=now)
    return reported


async def chat_languages(db: Database, chat_ids: Sequence[int]) -> dict[int, str]:
    """The interface language of these private chats, where known (for notices)."""
    ids = json.dumps(list(chat_ids)) if db.dialect == "sqlite" else [int(i) for i in chat_ids]
    rows = await db.fetchall(_CHAT_LANGUAGES[db.dialect], (ids,))
    return {row[0]: row[1] for row in rows}


# Each engine's text where their dialects differ. A list of values is one JSON
# text on SQLite (json_each) and one array on PostgreSQL (ALL / ANY).

_LIST: dict[Dialect, str] = {
    "sqlite": "SELECT * FROM feeds WHERE :all OR removed_at IS NULL ORDER BY id",
    # A flag comes as 0 or 1, which PostgreSQL does not take for a truth value.
    "postgresql": "SELECT * FROM feeds WHERE :all = 1 OR removed_at IS NULL ORDER BY id",
}

_UNLISTED: dict[Dialect, str] = {
    "sqlite": "UPDATE feeds SET removed_at = ?, removed_by = 'config'"
    " WHERE origin = 'config' AND removed_at IS NULL"
    " AND url NOT IN (SELECT value FROM json_each(?))",
    "postgresql": "UPDATE feeds SET removed_at = ?, removed_by = 'config'"
    " WHERE origin = 'config' AND removed_at IS NULL"
    " AND url <> ALL(CAST(? AS text[]))",
}
"""Stop the configured feeds feeds.toml no longer lists."""

_REPORTED: dict[Dialect, str] = {
    "sqlite": "SELECT failure_reported FROM feeds WHERE id = ?",
    # Another process recording a poll of the same feed waits until this one
    # commits, so a recovery is told once: SQLite's one writer gives that.
    "postgresql": "SELECT failure_reported FROM feeds WHERE id = ? FOR UPDATE",
}

_CHAT_LANGUAGES: dict[Dialect, str] = {
    "sqlite": "SELECT chat_id, ui_language FROM targets"
    " WHERE thread_id = 0 AND chat_id IN (SELECT value FROM json_each(?))",
    "postgresql": "SELECT chat_id, ui_language FROM targets"
    " WHERE thread_id = 0 AND chat_id = ANY(CAST(? AS bigint[]))",
}


def _texts(dialect: Dialect, values: Sequence[str]) -> str | list[str]:
    """A list of texts as a parameter: JSON on SQLite, an array on PostgreSQL."""
    return json.dumps(list(values)) if dialect == "sqlite" else list(values)
