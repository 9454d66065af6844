"""What each target follows: topics (by slug) and keyword queries (search syntax)."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.store.db import Database, Dialect
from bot.store.outbox import NewMessage, enqueue_tx

SubscriptionKind = Literal["topic", "query"]


@dataclass(frozen=True)
class Subscription:
    id: int
    target_id: int
    kind: SubscriptionKind
    value: str


class Added(enum.Enum):
    """How `add` went. Only ADDED is truthy, so `if await add(...)` still reads well."""

    ADDED = "added"
    EXISTS = "exists"  # the target already had exactly this subscription
    FULL = "full"  # the target is at its limit

    def __bool__(self) -> bool:
        return self is Added.ADDED


async def add(
    db: Database,
    target_id: int,
    kind: SubscriptionKind,
    value: str,
    now: int,
    *,
    limit: int | None = None,
) -> Added:
    """Subscribe, unless the target already has `limit` subscriptions.

    The count and the insert are one statement in one write transaction: a
    check made on the reader beforehand let a burst of quick /subscribe each see
    room for one more and store far more than the limit. On PostgreSQL, where
    another process may be adding to the same target at the same moment, the
    target's row is locked first, so the count is taken once the other has
    committed.
    """
    async with db.transaction() as tx:
        if db.dialect == "postgresql":
            await tx.execute("SELECT 1 FROM targets WHERE id = ? FOR UPDATE", (target_id,))
        cursor = await tx.execute(
            "INSERT INTO subscriptions (target_id, kind, value, created_at)"
            " SELECT :target, :kind, :value, :now"
            " WHERE :limit IS NULL"
            "    OR (SELECT count(*) FROM subscriptions WHERE target_id = :target) < :limit"
            " ON CONFLICT (target_id, kind, value) DO NOTHING",
            {"target": target_id, "kind": kind, "value": value, "now": now, "limit": limit},
        )
        if cursor.rowcount > 0:
            return Added.ADDED
        exists = await (
            await tx.execute(
                "SELECT 1 FROM subscriptions WHERE target_id = ? AND kind = ? AND value = ?",
                (target_id, kind, value),
            )
        ).fetchone()
        return Added.EXISTS if exists is not None else Added.FULL


async def remove(db: Database, target_id: int, kind: SubscriptionKind, value: str) -> bool:
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "DELETE FROM subscriptions WHERE target_id = ? AND kind = ? AND value = ?",
            (target_id, kind, value),
        )
        return cursor.rowcount > 0


async def remove_by_id(db: Database, target_id: int, subscription_id: int) -> Subscription | None:
    """Remove one subscription of this target; a forged id of another target removes nothing."""
    async with db.transaction() as tx:
        row = await (
            await tx.execute(
                "DELETE FROM subscriptions WHERE id = ? AND target_id = ?"
                " RETURNING id, target_id, kind, value",
                (subscription_id, target_id),
            )
        ).fetchone()
    return None if row is None else Subscription(row[0], row[1], row[2], row[3])


async def remove_all(db: Database, target_id: int, *, upto_id: int) -> int:
    """Remove this target's subscriptions up to `upto_id`, the newest one the
    reader was asked about: one made after the question stays. How many went."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "DELETE FROM subscriptions WHERE target_id = ? AND id <= ?", (target_id, upto_id)
        )
        return cursor.rowcount


async def list_for_target(db: Database, target_id: int) -> list[Subscription]:
    rows = await db.fetchall(
        "SELECT id, target_id, kind, value FROM subscriptions WHERE target_id = ?"
        " ORDER BY kind DESC, value",
        (target_id,),
    )
    return [Subscription(row[0], row[1], row[2], row[3]) for row in rows]


async def count_by_topic(db: Database) -> dict[str, int]:
    """Active subscribers per topic slug."""
    rows = await db.fetchall(_COUNT_BY_TOPIC[db.dialect])
    return {row[0]: row[1] for row in rows}


@dataclass(frozen=True)
class ToCheck:
    """A keyword subscription waiting to be held against the query rules, with
    what telling its chat needs."""

    id: int
    target_id: int
    value: str
    chat_id: int
    thread_id: int
    chat_type: str
    chat_title: str | None
    ui_language: str
    active: bool


async def to_check(db: Database) -> list[ToCheck]:
    rows = await db.fetchall(_TO_CHECK[db.dialect])
    return [
        ToCheck(
            id=row[0],
            target_id=row[1],
            value=row[2],
            chat_id=row[3],
            thread_id=row[4],
            chat_type=row[5],
            chat_title=row[6],
            ui_language=row[7],
            active=bool(row[8]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Revision:
    """A checked subscription's new value; None removes it."""

    subscription_id: int
    value: str | None


async def settle_checks(
    db: Database,
    checked: Sequence[int],
    revisions: Sequence[Revision],
    notices: Sequence[NewMessage],
) -> bool:
    """In one transaction: take the checked subscriptions off the list, apply the
    revisions and queue the notices. Nothing happens (False) when another process
    took them first, so a chat is told once. A revision to a value the target
    already follows removes the duplicate."""
    async with db.transaction() as tx:
        ids = json.dumps(list(checked)) if db.dialect == "sqlite" else [int(i) for i in checked]
        cursor = await tx.execute(_CLAIM_CHECKS[db.dialect], (ids,))
        claimed = {row[0] for row in await cursor.fetchall()}
        if not claimed:
            return False
        for revision in revisions:
            if revision.subscription_id not in claimed:
                continue
            if revision.value is not None:
                cursor = await tx.execute(
                    _REVISE[db.dialect], (revision.value, revision.subscription_id)
                )
                if cursor.rowcount > 0:
                    continue
            await tx.execute("DELETE FROM subscriptions WHERE id = ?", (revision.subscription_id,))
        await enqueue_tx(tx, notices)
    return True


# Each engine's text where their dialects differ: PostgreSQL takes no 0/1 flag
# for a truth value, a list of ids is an array there, and it has no UPDATE OR
# IGNORE.

_COUNT_BY_TOPIC: dict[Dialect, str] = {
    "sqlite": """
        SELECT s.value, count(*) FROM subscriptions AS s
        JOIN targets AS t ON t.id = s.target_id
        WHERE s.kind = 'topic' AND t.active
        GROUP BY s.value
        """,
    "postgresql": """
        SELECT s.value, count(*) FROM subscriptions AS s
        JOIN targets AS t ON t.id = s.target_id
        WHERE s.kind = 'topic' AND t.active = 1
        GROUP BY s.value
        """,
}

_TO_CHECK: dict[Dialect, str] = {
    "sqlite": """
        SELECT s.id, s.target_id, s.value, t.chat_id, t.thread_id, c.type, c.title,
               t.ui_language, t.active AND c.active
        FROM subscriptions_to_check AS k
        JOIN subscriptions AS s ON s.id = k.subscription_id
        JOIN targets AS t ON t.id = s.target_id
        JOIN chats AS c ON c.chat_id = t.chat_id
        ORDER BY s.target_id, s.id
        """,
    "postgresql": """
        SELECT s.id, s.target_id, s.value, t.chat_id, t.thread_id, c.type, c.title,
               t.ui_language, t.active = 1 AND c.active = 1
        FROM subscriptions_to_check AS k
        JOIN subscriptions AS s ON s.id = k.subscription_id
        JOIN targets AS t ON t.id = s.target_id
        JOIN chats AS c ON c.chat_id = t.chat_id
        ORDER BY s.target_id, s.id
        """,
}

_CLAIM_CHECKS: dict[Dialect, str] = {
    "sqlite": "DELETE FROM subscriptions_to_check"
    " WHERE subscription_id IN (SELECT value FROM json_each(?)) RETURNING subscription_id",
    "postgresql": "DELETE FROM subscriptions_to_check"
    " WHERE subscription_id = ANY(CAST(? AS bigint[])) RETURNING subscription_id",
}

_REVISE: dict[Dialect, str] = {
    "sqlite": "UPDATE OR IGNORE subscriptions SET value = ? WHERE id = ?",
    # UPDATE OR IGNORE's effect: no change (no row) when the target follows the
    # new value already under another subscription (their unique key); the
    # subscription set to the value it has is changed, as there.
    "postgresql": "UPDATE subscriptions SET value = revised.value"
    " FROM (SELECT CAST(? AS text) AS value) AS revised"
    " WHERE subscriptions.id = ? AND NOT EXISTS ("
    "SELECT 1 FROM subscriptions AS taken"
    " WHERE taken.target_id = subscriptions.target_id AND taken.kind = subscriptions.kind"
    " AND taken.value = revised.value AND taken.id <> subscriptions.id)",
}
