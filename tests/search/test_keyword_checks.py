"""Keyword subscriptions stored before the prefix rules, settled once at start-up."""

from __future__ import annotations

import json

from bot.config import Settings
from bot.runtime import open_content
from bot.store.db import Database, bundled_migrations

ADMIN = 900
ANN, ANA, BEN, GONE, NEWS = 101, 102, 103, 104, -1001
SUBSCRIPTIONS = {
    ANN: ["a* e* i* o* u* s* t* c* d* m* p* r*", "juarez ab*", "migra*", "topic:migration"],
    ANA: ["migra* revolu* capit*", "juarez", "juarez zz*"],
    BEN: ["migra* revolu*"],
    GONE: ["ab*"],
    NEWS: ["ab* migra*"],
}


async def _schema_6(settings: Settings) -> None:
    """Chats and their subscriptions as the schema before the rules stored them."""
    db = await Database.open(
        settings.database_path, migrations=[m for m in bundled_migrations() if m.version <= 6]
    )
    chats = [
        (ANN, "private", "Ann", "en", 1),
        (ANA, "private", "Ana", "es", 1),
        (BEN, "private", "Ben", "en", 1),
        (GONE, "private", "Gone", "en", 0),
        (NEWS, "channel", "News & views", "en", 1),
        (ADMIN, "private", "Admin", "es", 1),
    ]
    try:
        async with db.transaction() as tx:
            for chat_id, kind, title, language, active in chats:
                await tx.execute(
                    "INSERT INTO chats (chat_id, type, title, active, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 0, 0)",
                    (chat_id, kind, title, active),
                )
                await tx.execute(
                    "INSERT INTO targets (chat_id, ui_language, active, created_at)"
                    " VALUES (?, ?, ?, 0)",
                    (chat_id, language, active),
                )
                for value in SUBSCRIPTIONS.get(chat_id, []):
                    kind_of = "topic" if value.startswith("topic:") else "query"
                    await tx.execute(
                        "INSERT INTO subscriptions (target_id, kind, value, created_at)"
                        " SELECT id, ?, ?, 0 FROM targets WHERE chat_id = ?",
                        (kind_of, value.removeprefix("topic:"), chat_id),
                    )
    finally:
        await db.close()


async def _state(settings: Settings) -> tuple[dict[int, list[str]], list[tuple[int, str]]]:
    content = await open_content(settings)
    db = content.db
    try:
        rows = await db.fetchall(
            "SELECT t.chat_id, s.value FROM subscriptions AS s JOIN targets AS t"
            " ON t.id = s.target_id ORDER BY t.chat_id, s.id"
        )
        follows: dict[int, list[str]] = {}
        for row in rows:
            follows.setdefault(row[0], []).append(row[1])
        notices = await db.fetchall(
            "SELECT chat_id, payload FROM outbox WHERE kind = 'notice' ORDER BY id"
        )
        assert await db.fetchval("SELECT count(*) FROM subscriptions_to_check") == 0
        return follows, [(row[0], json.loads(row[1])["text"]) for row in notices]
    finally:
        await db.close()


async def test_old_subscriptions_are_repaired_or_removed_and_each_chat_told_once(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"admin_ids": [ADMIN]})
    await _schema_6(settings)

    follows, notices = await _state(settings)
    assert follows == {
        ANN: ["juarez", "migra*", "migration"],
        ANA: ["migra* revolu*", "juarez"],  # "juarez zz*" became the "juarez" it already had
        BEN: ["migra* revolu*"],
        NEWS: ["migra*"],
    }
    told = dict(notices)
    assert sorted(told) == [ANN, ANA, ADMIN]  # not Ben (unchanged), not the inactive chat
    assert told[ANN].startswith("🔧 Searches now follow two rules")
    assert "• <b>a* e* i* o* u* s* t* c* d* m* p* r*</b> — removed" in told[ANN]
    assert "• <b>juarez ab*</b> → <b>juarez</b>" in told[ANN]
    assert "migra*</b>" not in told[ANN]
    assert told[ANA].startswith("🔧 Las búsquedas siguen ahora dos reglas")
    assert "• <b>migra* revolu* capit*</b> → <b>migra* revolu*</b>" in told[ANA]
    assert "• <b>juarez zz*</b> → <b>juarez</b>" in told[ANA]
    # The channel's readers are not told; the bot's admins are, in their language.
    assert "del canal <b>News &amp; views</b>" in told[ADMIN]
    assert "• <b>ab* migra*</b> → <b>migra*</b>" in told[ADMIN]

    again, notices_again = await _state(settings)
    assert again == follows
    assert notices_again == notices
