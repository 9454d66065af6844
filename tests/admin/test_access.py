"""Only ADMIN_IDS reach the admin tools, by command, button or document; the
admin menu is shown to admins only."""

from __future__ import annotations

from bot.store import admin, broadcasts, feeds, outbox
from tests.admin.conftest import ADMIN, READER, FeedServer
from tests.harness import Harness

REFUSED = "para los administradores del bot"  # the reader's Telegram language is Spanish


async def test_non_admins_are_refused_and_nothing_happens(
    admin_harness: Harness, feed_server: FeedServer
) -> None:
    harness = admin_harness
    db = harness.services.db
    commands = (
        "/broadcast Hello everyone",
        "/broadcast topic:migration",
        "/stats",
        f"/feed_add {feed_server.url('/feed.xml')}",
        "/feed_remove 1",
        "/ingest",
        "/export",
        "/feeds",
        "/broadcast_cancel",
    )
    # One user each: the bot answers a chat at most once a second.
    users = [harness.emulator.add_user("Rita", language_code="es-MX").id for _ in commands]
    for user, command in zip(users, commands, strict=True):
        harness.emulator.send_user_message(user, user, command)
    for user, command in zip(users, commands, strict=True):
        answer = await harness.emulator.wait_for_bot_message(user)
        assert (answer.text or "").startswith("⛔"), command
        assert REFUSED in (answer.text or ""), command
        assert "broadcast" not in (answer.text or "").lower()
    harness.emulator.send_user_document(READER, READER, b"<opml/>", "feeds.opml", caption="/import")
    answer = await harness.emulator.wait_for_bot_message(READER)
    assert REFUSED in (answer.text or "")

    assert feed_server.requests == []
    assert await feeds.list_feeds(db, include_removed=True) == []
    assert await admin.audit_entries(db) == []
    assert await broadcasts.get(db, 1) is None
    assert await outbox.depth(db) == 0


async def test_a_non_admin_pressing_an_admins_button_changes_nothing(
    admin_harness: Harness,
) -> None:
    harness = admin_harness
    emulator, db = harness.emulator, harness.services.db
    await harness.say(ADMIN, ADMIN, "/broadcast Hello")  # the preview
    prompt = await emulator.wait_for_bot_message(ADMIN, lambda m: bool(m.buttons))
    query = emulator.press_button(ADMIN, prompt.message_id, "ab:c:1", user_id=READER)
    answer = await emulator.wait_for_callback_answer(query)
    assert REFUSED in (answer.text or "")
    draft = await broadcasts.get(db, 1)
    assert draft is not None
    assert draft.state == "draft"
    assert await outbox.depth(db) == 0
    assert [entry.action for entry in await admin.audit_entries(db)] == []


async def test_admin_commands_are_in_the_menu_of_admins_only(admin_harness: Harness) -> None:
    emulator = admin_harness.emulator
    chat_scope = {"type": "chat", "chat_id": ADMIN}
    for language in ("", "en", "es"):
        names = [c["command"] for c in emulator.commands(chat_scope, language)]
        assert "broadcast" in names
        assert "stats" in names
        assert "search" in names, "admins keep the reader commands"
    spanish = {c["command"]: c["description"] for c in emulator.commands(chat_scope, "es")}
    assert "Estadísticas" in spanish["stats"]
    for language in ("", "en", "es"):
        for scope in ({"type": "default"}, {"type": "all_group_chats"}):
            names = [c["command"] for c in emulator.commands(scope, language)]
            assert "search" in names
            assert not {"broadcast", "stats", "feed_add"} & set(names)
    assert emulator.commands({"type": "chat", "chat_id": READER}) == []


async def test_admin_commands_are_private(admin_harness: Harness) -> None:
    harness = admin_harness
    group = harness.emulator.add_group("Readers", members=[ADMIN, READER], admins=[ADMIN])
    answer = await harness.say(group.id, ADMIN, "/stats")
    assert "private chat" in (answer.text or "")
    assert await admin.audit_entries(harness.services.db) == []
