"""Readers talking to the real bot through the emulator."""

from __future__ import annotations

from bot.emulator import Emulator
from tests.harness import Harness


async def test_start_in_english_and_spanish(harness: Harness) -> None:
    english = harness.emulator.add_user("Ann", language_code="en")
    spanish = harness.emulator.add_user("Ana", language_code="es-MX")
    reply = await harness.say(english.id, english.id, "/start")
    assert reply.text is not None
    assert reply.text.startswith("👋 Hello, Ann!")
    assert any("Topics" in b["text"] for b in reply.buttons)
    reply = await harness.say(spanish.id, spanish.id, "/start")
    assert reply.text is not None
    assert reply.text.startswith("👋 ¡Hola, Ana!")
    assert any("Temas" in b["text"] for b in reply.buttons)


async def test_help_lists_every_command(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/help")
    assert reply.text is not None
    for command in (
        "/latest",
        "/search",
        "/topics",
        "/topic",
        "/subscribe",
        "/unsubscribe",
        "/mysubs",
        "/digest",
        "/settings",
        "/help",
    ):
        assert command in reply.text
    assert "@digest_test_bot" in reply.text


async def test_command_menu_in_both_languages(harness: Harness) -> None:
    english = harness.emulator.commands(language_code="en")
    spanish = harness.emulator.commands(language_code="es")
    assert [c["command"] for c in english] == [c["command"] for c in spanish]
    assert english[0]["description"] != spanish[0]["description"]


async def test_search_juarez_finds_both_articles(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/search juarez")
    assert reply.text is not None
    assert "Death of Migrants in Ciudad Juárez" in reply.text
    assert "La muerte de Migrantes en Chihuahua" in reply.text
    bold = [e for e in reply.entities if e.type == "bold"]
    assert bold, "titles and matches are bold"


async def test_plain_text_in_private_is_a_search(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "femicide")
    assert reply.text is not None
    assert "Femicides in Mexico: Justice for Alexis!" in reply.text


async def test_fts_junk_and_huge_queries_get_clear_answers(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, '/search "unbalanced AND OR NOT (')
    assert reply.text is not None
    assert reply.text.startswith("No results for")
    reply = await harness.say(user.id, user.id, "/search " + "x" * 5000)
    assert reply.text is not None
    assert "too long" in reply.text
    reply = await harness.say(user.id, user.id, "/search <script>&amp;</script> 🙂")
    assert reply.text is not None
    assert "Sorry" not in reply.text


async def test_more_button_pages_results(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    first = await harness.say(user.id, user.id, "/search mexico")
    assert first.text is not None
    assert first.text.count("\n1. ") + first.text.startswith("1. ") <= 1
    await harness.press(first, text="More")
    second = await harness.edited(first, "page 2")  # the next page takes its place
    assert second.text is not None
    assert "6. " in second.text


async def test_topics_tap_subscribe_then_mysubs(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    topics = await harness.say(user.id, user.id, "/topics")
    # The sample's two migration articles are one story in two languages: one item.
    assert any(b["text"].startswith("Migration (1)") for b in topics.buttons)
    await harness.press(topics, text="Migration")
    shown = await harness.edited(topics, "Latest on Migration")
    await harness.press(shown, text="Subscribe to Migration")
    await harness.button_shown(shown, "Unsubscribe from Migration")
    mine = await harness.say(user.id, user.id, "/mysubs")
    assert mine.text is not None
    assert "Topic: Migration" in mine.text


async def test_topic_by_spanish_name_and_unknown_command(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/topic migracion")
    assert reply.text is not None
    assert "Latest on Migration" in reply.text
    reply = await harness.say(user.id, user.id, "/frobnicate")
    assert reply.text is not None
    assert "/help" in reply.text


async def test_latest(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/latest")
    assert reply.text is not None
    assert reply.text.startswith("🆕 Latest articles")
    assert "Against “Neoliberalism” or Capitalism?" in reply.text


async def test_inline_query_returns_articles(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    query_id = harness.emulator.inline_query(user.id, "juarez")
    answer = await harness.emulator.wait_for_inline_answer(query_id)
    # One result: the Juárez story, whose Spanish version is named in its message.
    (result,) = answer.results
    assert "Juárez" in result["title"]
    assert "🇪🇸 La muerte de Migrantes" in result["input_message_content"]["message_text"]


async def test_group_commands_with_bot_name_and_admin_rights(harness: Harness) -> None:
    emulator: Emulator = harness.emulator
    admin = emulator.add_user("Admin")
    member = emulator.add_user("Member")
    group = emulator.add_supergroup("Readers", members=[admin.id, member.id])
    emulator.set_admin(group.id, admin.id)
    reply = await harness.say(group.id, member.id, "/search@digest_test_bot juarez")
    assert reply.text is not None
    assert "Juárez" in reply.text
    reply = await harness.say(group.id, member.id, "/subscribe migration")
    assert reply.text is not None
    assert "Only this group's administrators" in reply.text
    reply = await harness.say(group.id, admin.id, "/subscribe migration")
    assert reply.text is not None
    assert "Subscribed to Migration" in reply.text
