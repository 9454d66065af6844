"""Admin answers in the language a person chose in /settings, and counts in the
right plural form in either language."""

from __future__ import annotations

from bot.store import feeds
from tests.admin.conftest import ADMIN
from tests.harness import Harness


async def test_a_refusal_follows_the_chosen_language_not_telegrams(admin_harness: Harness) -> None:
    harness = admin_harness
    emulator = harness.emulator
    user = emulator.add_user("Tom", language_code="en")  # Telegram in English…
    chosen = await harness.say(user.id, user.id, "/settings language es")  # …the bot in Spanish
    assert "Idioma: español" in (chosen.text or "")
    refused = await harness.say(user.id, user.id, "/stats")
    assert (refused.text or "").startswith("⛔")
    assert "para los administradores del bot" in (refused.text or "")
    query = emulator.press_button(user.id, chosen.message_id, forged_data="ab:c:1")
    answer = await emulator.wait_for_callback_answer(query)
    assert "para los administradores del bot" in (answer.text or "")

    newcomer = emulator.add_user("Nina", language_code="es-MX")  # nothing chosen yet
    refused = await harness.say(newcomer.id, newcomer.id, "/feeds")
    assert "para los administradores del bot" in (refused.text or "")


async def test_one_of_a_thing_is_singular_in_english_and_spanish(admin_harness: Harness) -> None:
    harness = admin_harness
    emulator, services = harness.emulator, harness.services
    await feeds.add_feed(services.db, "https://one.example/feed.xml", now=services.now())

    emulator.send_user_message(ADMIN, ADMIN, "/export")
    exported = await emulator.wait_for_bot_message(ADMIN, lambda m: m.document is not None)
    assert exported.caption == "1 feed (OPML)"
    emulator.send_user_message(ADMIN, ADMIN, "/broadcast Hello")
    confirm = await emulator.wait_for_bot_message(ADMIN, lambda m: bool(m.buttons))
    assert "Audience: all active chats, 1 chat.\n" in (confirm.text or "")

    await harness.say(ADMIN, ADMIN, "/settings language es")
    emulator.send_user_message(ADMIN, ADMIN, "/export")
    exported = await emulator.wait_for_bot_message(ADMIN, lambda m: m.document is not None)
    assert exported.caption == "1 fuente (OPML)"
    emulator.send_user_message(ADMIN, ADMIN, "/broadcast Hola")
    confirm = await emulator.wait_for_bot_message(ADMIN, lambda m: bool(m.buttons))
    assert "Público: todos los chats activos, 1 chat.\n" in (confirm.text or "")
