"""What admins read and leave behind: the audit log and the statistics queries.

Every admin action is one `audit_log` row (who, when, what, how many
recipients). Statistics are plain aggregates over the existing tables; each
query reads only a window of rows through an index, so /stats stays cheap
whatever the archive's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bot.store.db import Database, Dialect, Transaction

DAY = 24 * 3600

# Where PostgreSQL reads these differently: a subquery in FROM needs a name
# (before PostgreSQL 16), a 0/1 flag is not a truth value (`active = 1`), sum()
# of a bigint is a numeric (cast back), and a UTC day is spelt with to_char.


@dataclass(frozen=True)
class AuditEntry:
    id: int
    admin_id: int
    action: str
    detail: str
    recipients: int | None
    at: int


@dataclass(frozen=True)
class ChatCount:
    type: str
    active: bool
    count: int


@dataclass(frozen=True)
class DeliveryCount:
    kind: str
    state: str
    count: int


async def audit_tx(
    tx: Transaction,
    admin_id: int,
    action: str,
    *,
    detail: str = "",
    recipients: int | None = None,
    now: int,
) -> None:
    """Record an admin action inside the caller's transaction (with what it changed)."""
    await tx.execute(
        "INSERT INTO audit_log (admin_id, action, detail, recipients, at) VALUES (?, ?, ?, ?, ?)",
        (admin_id, action, detail, recipients, now),
    )


async def audit(
    db: Database,
    admin_id: int,
    action: str,
    *,
    detail: str = "",
    recipients: int | None = None,
    now: int,
) -> None:
    async with db.transaction() as tx:
        await audit_tx(tx, admin_id, action, detail=detail, recipients=recipients, now=now)


async def audit_entries(db: Database, *, limit: int = 100) -> list[AuditEntry]:
    """The newest audit entries first."""
    rows = await db.fetchall(
        "SELECT id, admin_id, action, detail, recipients, at FROM audit_log"
        " ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [AuditEntry(*row) for row in rows]


async def chat_counts(db: Database) -> list[ChatCount]:
    rows = await db.fetchall(
        "SELECT type, active, count(*) FROM chats GROUP BY type, active ORDER BY type, active"
    )
    return [ChatCount(row[0], bool(row[1]), row[2]) for row in rows]


_LANGUAGE_COUNTS: Final[Mapping[Dialect, str]] = {
    "sqlite": "SELECT t.ui_language, count(*) FROM targets AS t"
    " JOIN chats AS c ON c.chat_id = t.chat_id"
    " WHERE t.active AND c.active GROUP BY t.ui_language",
    "postgresql": "SELECT t.ui_language, count(*) FROM targets AS t"
    " JOIN chats AS c ON c.chat_id = t.chat_id"
    " WHERE t.active = 1 AND c.active = 1 GROUP BY t.ui_language",
}


async def language_counts(db: Database) -> dict[str, int]:
    """Active targets per interface language."""
    rows = await db.fetchall(_LANGUAGE_COUNTS[db.dialect])
    return {row[0]: row[1] for row in rows}


_DELIVERY_COUNTS: Final[Mapping[Dialect, str]] = {
    "sqlite": "SELECT kind, state, sum(n) FROM ("
    " SELECT kind, state, count(*) AS n FROM outbox WHERE finished_at >= :since"
    " GROUP BY kind, state"
    " UNION ALL"
    " SELECT kind, state, count AS n FROM outbox_daily WHERE day >= :since)"
    " GROUP BY kind, state ORDER BY kind, state",
    "postgresql": "SELECT kind, state, CAST(sum(n) AS bigint) FROM ("
    " SELECT kind, state, count(*) AS n FROM outbox WHERE finished_at >= :since"
    " GROUP BY kind, state"
    " UNION ALL"
    " SELECT kind, state, count AS n FROM outbox_daily WHERE day >= :since) AS finished"
    " GROUP BY kind, state ORDER BY kind, state",
}


async def delivery_counts(db: Database, *, since: int) -> list[DeliveryCount]:
    """Outbox rows finished since `since`, by kind and final state: the rows still
    kept, plus the pruned ones counted in `outbox_daily` for the UTC days that
    start at or after `since` (retention keeps far more than the windows /stats
    shows, so those are whole days)."""
    rows = await db.fetchall(_DELIVERY_COUNTS[db.dialect], {"since": since})
    return [DeliveryCount(row[0], row[1], row[2]) for row in rows]


_SENT_PER_DAY: Final[Mapping[Dialect, str]] = {
    "sqlite": "SELECT day, sum(n) FROM ("
    " SELECT date(finished_at, 'unixepoch') AS day, count(*) AS n FROM outbox"
    " WHERE finished_at >= :since AND state = 'sent' GROUP BY day"
    " UNION ALL"
    " SELECT date(day, 'unixepoch') AS day, count AS n FROM outbox_daily"
    " WHERE day >= :since AND state = 'sent')"
    " GROUP BY day",
    "postgresql": "SELECT day, CAST(sum(n) AS bigint) FROM ("
    " SELECT to_char(to_timestamp(finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,"
    " count(*) AS n FROM outbox"
    " WHERE finished_at >= :since AND state = 'sent' GROUP BY 1"
    " UNION ALL"
    " SELECT to_char(to_timestamp(day) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,"
    " count AS n FROM outbox_daily"
    " WHERE day >= :since AND state = 'sent') AS sent"
    " GROUP BY day",
}


async def sent_per_day(db: Database, *, since: int) -> dict[str, int]:
    """Messages delivered per UTC day ('YYYY-MM-DD') since a time, kept or pruned."""
    rows = await db.fetchall(_SENT_PER_DAY[db.dialect], {"since": since})
    return {row[0]: row[1] for row in rows}


_SUBSCRIBERS_BEFORE: Final[Mapping[Dialect, str]] = {
    "sqlite": "SELECT count(*) FROM (SELECT s.target_id FROM subscriptions AS s"
    " JOIN targets AS t ON t.id = s.target_id WHERE t.active"
    " GROUP BY s.target_id HAVING min(s.created_at) < ?)",
    "postgresql": "SELECT count(*) FROM (SELECT s.target_id FROM subscriptions AS s"
    " JOIN targets AS t ON t.id = s.target_id WHERE t.active = 1"
    " GROUP BY s.target_id HAVING min(s.created_at) < ?) AS subscribed",
}


async def subscribers_before(db: Database, moment: int) -> int:
    """Active targets that subscribed to something before `moment` (and still do)."""
    value = await db.fetchval(_SUBSCRIBERS_BEFORE[db.dialect], (moment,))
    return int(value)


_NEW_SUBSCRIBERS_PER_DAY: Final[Mapping[Dialect, str]] = {
    "sqlite": "SELECT date(first, 'unixepoch') AS day, count(*) FROM"
    " (SELECT min(s.created_at) AS first FROM subscriptions AS s"
    "  JOIN targets AS t ON t.id = s.target_id WHERE t.active GROUP BY s.target_id)"
    " WHERE first >= ? GROUP BY day",
    "postgresql": "SELECT to_char(to_timestamp(first) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,"
    " count(*) FROM"
    " (SELECT min(s.created_at) AS first FROM subscriptions AS s"
    "  JOIN targets AS t ON t.id = s.target_id WHERE t.active = 1 GROUP BY s.target_id)"
    " AS subscribed WHERE first >= ? GROUP BY 1",
}


async def new_subscribers_per_day(db: Database, *, since: int) -> dict[str, int]:
    """Active targets by the UTC day of their first (surviving) subscription."""
    rows = await db.fetchall(_NEW_SUBSCRIBERS_PER_DAY[db.dialect], (since,))
    return {row[0]: row[1] for row in rows}


async def articles_per_feed(db: Database) -> dict[int, int]:
    rows = await db.fetchall(
        "SELECT feed_id, count(*) FROM articles WHERE feed_id IS NOT NULL GROUP BY feed_id"
    )
    return {row[0]: row[1] for row in rows}


_MAKE_FEEDS_DUE: Final[Mapping[Dialect, str]] = {
    "sqlite": "UPDATE feeds SET next_poll_at = min(next_poll_at, ?) WHERE removed_at IS NULL",
    "postgresql": "UPDATE feeds SET next_poll_at = least(next_poll_at, ?) WHERE removed_at IS NULL",
}


async def make_feeds_due(db: Database, now: int) -> int:
    """Every polled feed is due now (for /ingest). Returns how many."""
    async with db.transaction() as tx:
        cursor = await tx.execute(_MAKE_FEEDS_DUE[db.dialect], (now,))
        return cursor.rowcount


async def feeds_polled(db: Database) -> int:
    return int(await db.fetchval("SELECT count(*) FROM feeds WHERE removed_at IS NULL"))
