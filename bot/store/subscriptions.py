"""What each target follows: topics (by slug) and keyword queries (search syntax)."""

from __future__ import annotations

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


async def add(db: Database, target_id: int, kind: SubscriptionKind, value: str, now: int) -> bool:
    """Subscribe; False when the target already had exactly this subscription."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO subscriptions (target_id, kind, value, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (target_id, kind, value) DO NOTHING",
            (target_id, kind, value, now),
        )
        return cursor.rowcount > 0


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
