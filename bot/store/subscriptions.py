"""What each target follows: topics (by slug) and keyword queries (search syntax)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from bot.store.db import Database

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
    room for one more and store far more than the limit.
    """
    async with db.transaction() as tx:
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


async def list_for_target(db: Database, target_id: int) -> list[Subscription]:
    rows = await db.fetchall(
        "SELECT id, target_id, kind, value FROM subscriptions WHERE target_id = ?"
        " ORDER BY kind DESC, value",
        (target_id,),
    )
    return [Subscription(row[0], row[1], row[2], row[3]) for row in rows]


async def count_by_topic(db: Database) -> dict[str, int]:
    """Active subscribers per topic slug."""
    rows = await db.fetchall(
        """
        SELECT s.value, count(*) FROM subscriptions AS s
        JOIN targets AS t ON t.id = s.target_id
        WHERE s.kind = 'topic' AND t.active
        GROUP BY s.value
        """
    )
    return {row[0]: row[1] for row in rows}
