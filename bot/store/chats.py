"""Chats, their digest targets and their settings.

A *target* is where digests go: a whole chat (thread 0) or one topic of a
forum group. Settings and subscriptions belong to targets, so two topics of
one forum can follow different things.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from bot.store.db import Database, Dialect, Row, Transaction

ChatType = Literal["private", "group", "supergroup", "channel"]
DigestMode = Literal["off", "instant", "daily", "weekly"]

CHAT_TYPES: dict[str, ChatType] = {
    "private": "private",
    "group": "group",
    "supergroup": "supergroup",
    "channel": "channel",
}


def chat_type(telegram_type: str) -> ChatType:
    """Telegram's chat type as stored ("sender" and unknown kinds count as groups)."""
    return CHAT_TYPES.get(telegram_type, "group")


SCHEDULE_COLUMNS = frozenset({"digest_mode", "digest_minute", "digest_weekday", "timezone"})
"""The settings `next_digest_at` is computed from: changed only together with it."""
SETTING_COLUMNS = SCHEDULE_COLUMNS | {
    "ui_language",
    "article_language",
    "next_digest_at",
    "link_previews",
}


@dataclass(frozen=True)
class Chat:
    chat_id: int
    type: ChatType
    title: str | None
    username: str | None
    is_forum: bool
    active: bool
    inactive_reason: str | None
    added_by: int | None

    @property
    def is_group_like(self) -> bool:
        """Groups and channels share Telegram's 20 messages per minute limit."""
        return self.type != "private"


@dataclass(frozen=True)
class SeenChat:
    """What Telegram says about a chat, saved when the bot first meets it."""

    chat_id: int
    type: ChatType
    title: str | None
    username: str | None = None
    is_forum: bool = False
    added_by: int | None = None


@dataclass(frozen=True)
class Target:
    id: int
    chat_id: int
    thread_id: int
    active: bool
    ui_language: str
    article_language: str | None
    digest_mode: DigestMode
    digest_minute: int
    digest_weekday: int
    timezone: str
    cursor_article_id: int
    last_digest_at: int | None
    next_digest_at: int | None
    link_previews: bool = True
    """Whether its digests and posts preview the article that leads them."""


def chat_from_row(row: Row) -> Chat:
    return Chat(
        chat_id=row["chat_id"],
        type=row["type"],
        title=row["title"],
        username=row["username"],
        is_forum=bool(row["is_forum"]),
        active=bool(row["active"]),
        inactive_reason=row["inactive_reason"],
        added_by=row["added_by"],
    )


def target_from_row(row: Row) -> Target:
    return Target(
        id=row["id"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"],
        active=bool(row["active"]),
        ui_language=row["ui_language"],
        article_language=row["article_language"],
        digest_mode=row["digest_mode"],
        digest_minute=row["digest_minute"],
        digest_weekday=row["digest_weekday"],
        timezone=row["timezone"],
        cursor_article_id=row["cursor_article_id"],
        last_digest_at=row["last_digest_at"],
        next_digest_at=row["next_digest_at"],
        link_previews=bool(row["link_previews"]),
    )


async def save_chat(
    db: Database,
    *,
    chat_id: int,
    type: ChatType,
    title: str | None,
    username: str | None = None,
    is_forum: bool = False,
    added_by: int | None = None,
    now: int,
) -> Chat:
    """Record a chat the bot has seen, refreshing what Telegram says about it."""
    seen = SeenChat(chat_id, type, title, username, is_forum, added_by)
    async with db.transaction() as tx:
        return await _save_chat(tx, seen, now)


async def _save_chat(tx: Transaction, chat: SeenChat, now: int) -> Chat:
    await tx.execute(
        """
        INSERT INTO chats (chat_id, type, title, username, is_forum, added_by,
                           created_at, updated_at)
        VALUES (:chat_id, :type, :title, :username, :is_forum, :added_by, :now, :now)
        ON CONFLICT (chat_id) DO UPDATE SET
            type = excluded.type,
            title = excluded.title,
            username = excluded.username,
            is_forum = excluded.is_forum,
            added_by = coalesce(excluded.added_by, chats.added_by),
            updated_at = excluded.updated_at
        """,
        {**asdict(chat), "is_forum": int(chat.is_forum), "now": now},
    )
    row = await (
        await tx.execute("SELECT * FROM chats WHERE chat_id = ?", (chat.chat_id,))
    ).fetchone()
    assert row is not None
    return chat_from_row(row)


async def get_chat(db: Database, chat_id: int) -> Chat | None:
    row = await db.fetchone("SELECT * FROM chats WHERE chat_id = ?", (chat_id,))
    return None if row is None else chat_from_row(row)


async def list_chats(db: Database, *, active: bool | None = None) -> list[Chat]:
    rows = await db.fetchall(
        "SELECT * FROM chats WHERE :active IS NULL OR active = :active ORDER BY chat_id",
        {"active": None if active is None else int(active)},
    )
    return [chat_from_row(row) for row in rows]


async def list_channels(db: Database) -> list[Chat]:
    """Active channels, in the order they were added (their /channel numbers)."""
    rows = await db.fetchall(_CHANNELS[db.dialect])
    return [chat_from_row(row) for row in rows]


async def get_target(db: Database, chat_id: int, thread_id: int = 0) -> Target | None:
    row = await db.fetchone(
        "SELECT * FROM targets WHERE chat_id = ? AND thread_id = ?", (chat_id, thread_id)
    )
    return None if row is None else target_from_row(row)


async def get_target_by_id(db: Database, target_id: int) -> Target | None:
    row = await db.fetchone("SELECT * FROM targets WHERE id = ?", (target_id,))
    return None if row is None else target_from_row(row)


async def list_targets(db: Database, chat_id: int) -> list[Target]:
    rows = await db.fetchall(
        "SELECT * FROM targets WHERE chat_id = ? ORDER BY thread_id", (chat_id,)
    )
    return [target_from_row(row) for row in rows]


@dataclass(frozen=True)
class NewTarget:
    """A target as first created: where it is, and its settings, the schema's
    defaults unless given (its schedule is computed from these before the write)."""

    chat_id: int
    thread_id: int
    ui_language: str
    timezone: str
    digest_mode: DigestMode = "daily"
    digest_minute: int = 480
    digest_weekday: int = 0


async def create_target(
    db: Database,
    new: NewTarget,
    *,
    next_digest_at: int | None,
    now: int,
    chat: SeenChat | None = None,
) -> Target:
    """The target for a chat (or forum topic), created on first use: with the
    chat's record when `chat` is given, and its schedule, in one transaction, so
    a failure leaves neither a chat without its target nor a target without its
    next digest time. An existing target is returned as it is.

    A new target's cursor starts at the newest article, so a new subscriber's
    first digest holds what is new from now on, not the whole archive.
    """
    async with db.transaction() as tx:
        if chat is not None:
            await _save_chat(tx, chat, now)
        await tx.execute(
            """
            INSERT INTO targets (chat_id, thread_id, ui_language, timezone, digest_mode,
                                 digest_minute, digest_weekday, next_digest_at,
                                 cursor_article_id, created_at)
            VALUES (:chat_id, :thread_id, :ui_language, :timezone, :digest_mode,
                    :digest_minute, :digest_weekday, :next_digest_at,
                    (SELECT coalesce(max(id), 0) FROM articles), :now)
            ON CONFLICT (chat_id, thread_id) DO NOTHING
            """,
            {**asdict(new), "next_digest_at": next_digest_at, "now": now},
        )
        row = await (
            await tx.execute(
                "SELECT * FROM targets WHERE chat_id = ? AND thread_id = ?",
                (new.chat_id, new.thread_id),
            )
        ).fetchone()
    assert row is not None
    return target_from_row(row)


async def ensure_target(
    db: Database,
    chat_id: int,
    thread_id: int = 0,
    *,
    ui_language: str,
    timezone: str,
    now: int,
) -> Target:
    """A target with default settings and no schedule yet, which the minute job
    gives it (`create_target` with no next time: for imports and tests)."""
    new = NewTarget(chat_id, thread_id, ui_language, timezone)
    return await create_target(db, new, next_digest_at=None, now=now)


async def update_target(db: Database, target_id: int, **settings: Any) -> Target:
    """Change some of a target's settings (only the columns in SETTING_COLUMNS).

    A change to a column of SCHEDULE_COLUMNS must come with the `next_digest_at`
    it gives (`bot.digest.schedule.change_settings` computes it), in the same
    write: otherwise the old time would stand, a digest at a time the reader
    no longer asked for."""
    unknown = set(settings) - SETTING_COLUMNS
    if unknown:
        raise ValueError(f"not a target setting: {', '.join(sorted(unknown))}")
    if SCHEDULE_COLUMNS & settings.keys() and "next_digest_at" not in settings:
        raise ValueError("a schedule change needs the next_digest_at it gives")
    assignments = ", ".join(f"{column} = :{column}" for column in settings)
    async with db.transaction() as tx:
        if assignments:
            await tx.execute(
                f"UPDATE targets SET {assignments} WHERE id = :target_id",
                {**settings, "target_id": target_id},
            )
        row = await (
            await tx.execute("SELECT * FROM targets WHERE id = ?", (target_id,))
        ).fetchone()
    if row is None:
        raise LookupError(f"no target {target_id}")
    return target_from_row(row)


async def reactivate_chat(db: Database, chat_id: int) -> bool:
    """Bring back a chat that had blocked or removed the bot. True if it was inactive."""
    async with db.transaction() as tx:
        cursor = await tx.execute(_REACTIVATE[db.dialect], (chat_id,))
        await tx.execute("UPDATE targets SET active = 1 WHERE chat_id = ?", (chat_id,))
        return cursor.rowcount > 0


async def deactivate_chat_tx(
    tx: Transaction, chat_id: int, reason: str, *, dialect: Dialect
) -> int:
    """Inside a transaction: mark a chat and its targets inactive and drop its pending
    outbox rows. Subscriptions stay, so the chat resumes as it was when it comes back.
    Returns the number of dropped outbox rows. `dialect`: the engine of the
    transaction (`Database.dialect`)."""
    await tx.execute(
        "UPDATE chats SET active = 0, inactive_reason = ? WHERE chat_id = ?", (reason, chat_id)
    )
    await tx.execute("UPDATE targets SET active = 0 WHERE chat_id = ?", (chat_id,))
    cursor = await tx.execute(_DROP_CHAT_MESSAGES[dialect], (reason, chat_id))
    return cursor.rowcount


async def deactivate_chat(db: Database, chat_id: int, reason: str) -> int:
    async with db.transaction() as tx:
        return await deactivate_chat_tx(tx, chat_id, reason, dialect=db.dialect)


async def deactivate_target(db: Database, chat_id: int, thread_id: int, reason: str) -> int:
    """A forum topic was deleted: stop that target only, not the whole group."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE targets SET active = 0 WHERE chat_id = ? AND thread_id = ?",
            (chat_id, thread_id),
        )
        cursor = await tx.execute(_DROP_TARGET_MESSAGES[db.dialect], (reason, chat_id, thread_id))
        return cursor.rowcount


async def migrate_chat(db: Database, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: move its settings, subscriptions and pending messages."""
    async with db.transaction() as tx:
        exists = await (
            await tx.execute("SELECT 1 FROM chats WHERE chat_id = ?", (new_chat_id,))
        ).fetchone()
        if exists is None:
            await tx.execute(_MOVE_CHAT[db.dialect], (new_chat_id, old_chat_id))
        else:
            # Both ids are known: keep the new chat and move what it does not have yet.
            await tx.execute(_MOVE_TARGETS[db.dialect], (new_chat_id, old_chat_id))
            await tx.execute("DELETE FROM chats WHERE chat_id = ?", (old_chat_id,))
        await tx.execute(
            "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND state IN ('pending', 'sending')",
            (new_chat_id, old_chat_id),
        )


# Each engine's text where their dialects differ. PostgreSQL has no unixepoch()
# (its own clock, in whole seconds, instead), takes no 0/1 flag for a truth
# value, and has no UPDATE OR IGNORE.

_NOW_POSTGRESQL = "CAST(floor(extract(epoch FROM now())) AS bigint)"

_CHANNELS: dict[Dialect, str] = {
    "sqlite": "SELECT * FROM chats WHERE type = 'channel' AND active ORDER BY created_at, chat_id",
    "postgresql": "SELECT * FROM chats WHERE type = 'channel' AND active = 1"
    " ORDER BY created_at, chat_id",
}

_REACTIVATE: dict[Dialect, str] = {
    "sqlite": "UPDATE chats SET active = 1, inactive_reason = NULL"
    " WHERE chat_id = ? AND NOT active",
    "postgresql": "UPDATE chats SET active = 1, inactive_reason = NULL"
    " WHERE chat_id = ? AND active = 0",
}

_DROP_CHAT_MESSAGES: dict[Dialect, str] = {
    "sqlite": "UPDATE outbox SET state = 'dropped', last_error = ?, finished_at = unixepoch()"
    " WHERE chat_id = ? AND state IN ('pending', 'sending')",
    "postgresql": "UPDATE outbox SET state = 'dropped', last_error = ?,"
    f" finished_at = {_NOW_POSTGRESQL}"
    " WHERE chat_id = ? AND state IN ('pending', 'sending')",
}

_DROP_TARGET_MESSAGES: dict[Dialect, str] = {
    "sqlite": "UPDATE outbox SET state = 'dropped', last_error = ?, finished_at = unixepoch()"
    " WHERE chat_id = ? AND thread_id = ? AND state IN ('pending', 'sending')",
    "postgresql": "UPDATE outbox SET state = 'dropped', last_error = ?,"
    f" finished_at = {_NOW_POSTGRESQL}"
    " WHERE chat_id = ? AND thread_id = ? AND state IN ('pending', 'sending')",
}

_MOVE_CHAT: dict[Dialect, str] = {
    "sqlite": "UPDATE chats SET chat_id = ?, type = 'supergroup', updated_at = unixepoch()"
    " WHERE chat_id = ?",
    "postgresql": "UPDATE chats SET chat_id = ?, type = 'supergroup',"
    f" updated_at = {_NOW_POSTGRESQL}"
    " WHERE chat_id = ?",
}

_MOVE_TARGETS: dict[Dialect, str] = {
    "sqlite": "UPDATE OR IGNORE targets SET chat_id = ? WHERE chat_id = ?",
    # UPDATE OR IGNORE's effect: a target of the old chat moves unless the new
    # chat has one on the same thread already (their one unique key); that one
    # stays behind and goes with the old chat. Rows moved cannot collide with
    # each other: one chat's targets are on different threads.
    "postgresql": "UPDATE targets SET chat_id = moved.chat_id"
    " FROM (SELECT CAST(? AS bigint) AS chat_id) AS moved"
    " WHERE targets.chat_id = ? AND NOT EXISTS ("
    "SELECT 1 FROM targets AS taken"
    " WHERE taken.chat_id = moved.chat_id AND taken.thread_id = targets.thread_id)",
}
