"""/settings by buttons and by arguments, stored per chat, surviving a restart."""

from __future__ import annotations

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.emulator import Emulator
from bot.runtime import open_content
from bot.services import Services
from bot.store import chats
from tests.harness import Harness


async def test_defaults_for_a_new_chat(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/settings")
    assert reply.text is not None
    assert "Digest: daily" in reply.text
    assert "Time: 08:00" in reply.text
    assert "Timezone: UTC" in reply.text
    target = await chats.get_target(harness.services.db, user.id)
    assert target is not None
    assert target.next_digest_at is not None


async def test_buttons_change_settings(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    menu = await harness.say(user.id, user.id, "/settings")
    await harness.press(menu, text="Frequency")
    await harness.button_shown(menu, "instant")
    await harness.press(menu, text="instant")
    await harness.edited(menu, "Digest: instant")
    await harness.press(menu, text="Timezone")
    await harness.button_shown(menu, "Mexico City")
    await harness.press(menu, text="Mexico City")
    await harness.edited(menu, "America/Mexico_City")
    await harness.press(menu, text="Language")
    await harness.button_shown(menu, "Español")
    await harness.press(menu, text="Español")
    await harness.edited(menu, "Resumen: al instante")
    target = await chats.get_target(harness.services.db, user.id)
    assert target is not None
    assert (target.digest_mode, target.timezone, target.ui_language) == (
        "instant",
        "America/Mexico_City",
        "es",
    )
    assert target.next_digest_at is None


async def test_arguments_and_clear_refusals(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/settings time 7:30")
    assert reply.text is not None
    assert "Time: 07:30" in reply.text
    reply = await harness.say(user.id, user.id, "/settings digest hourly")
    assert reply.text is not None
    assert "not a valid frequency" in reply.text
    assert "instant, daily, weekly, off" in reply.text
    reply = await harness.say(user.id, user.id, "/settings timezone Mars/Olympus")
    assert reply.text is not None
    assert "America/Mexico_City" in reply.text
    reply = await harness.say(user.id, user.id, "/settings colour red")
    assert reply.text is not None
    assert "Unknown setting “colour”" in reply.text
    reply = await harness.say(user.id, user.id, "/settings time <b>9</b>")
    assert reply.text is not None
    assert "“<b>9</b>” is not a valid time" in reply.text


async def test_settings_persist_across_a_restart(emulator: Emulator, settings: Settings) -> None:
    user = emulator.add_user("Ann")
    for step in range(2):
        content = await open_content(settings)
        services = Services(settings, content.db, content.catalogue)
        try:
            async with bot_on_emulator(emulator, settings, services=services):
                if step == 0:
                    emulator.send_user_message(user.id, user.id, "/settings weekday friday")
                    emulator.send_user_message(user.id, user.id, "/settings day friday")
                    emulator.send_user_message(user.id, user.id, "/settings digest weekly")
                    await emulator.wait_for_bot_message(
                        user.id, lambda m: "Digest: weekly" in (m.text or ""), timeout=10
                    )
                else:
                    emulator.send_user_message(user.id, user.id, "/settings")
                    reply = await emulator.wait_for_bot_message(
                        user.id, lambda m: "Settings" in (m.text or "")
                    )
                    assert reply.text is not None
                    assert "Digest: weekly" in reply.text
                    assert "Day: Friday" in reply.text
        finally:
            await content.db.close()


async def test_group_settings_are_for_admins(harness: Harness) -> None:
    emulator = harness.emulator
    admin = emulator.add_user("Admin")
    member = emulator.add_user("Member")
    group = emulator.add_group("Readers", members=[admin.id, member.id], admins=[admin.id])
    reply = await harness.say(group.id, member.id, "/settings digest off")
    assert reply.text is not None
    assert "Only this group's administrators" in reply.text
    reply = await harness.say(group.id, admin.id, "/settings digest off")
    assert reply.text is not None
    assert "Digest: off" in reply.text


async def test_the_summary_shows_only_what_the_frequency_uses(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    daily = await harness.say(user.id, user.id, "/settings digest daily")
    assert daily.text is not None
    assert "Time: 08:00" in daily.text
    assert "Day:" not in daily.text, "a daily digest has no weekday"
    weekly = await harness.say(user.id, user.id, "/settings digest weekly")
    assert weekly.text is not None
    assert "Time: 08:00" in weekly.text
    assert "Day: Monday" in weekly.text
    for mode in ("instant", "off"):
        reply = await harness.say(user.id, user.id, f"/settings digest {mode}")
        assert reply.text is not None
        assert f"Digest: {mode}" in reply.text
        assert "Time:" not in reply.text, mode
        assert "Day:" not in reply.text, mode


async def test_a_typed_change_says_it_was_saved(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/settings time 07:30")
    assert reply.text is not None
    assert reply.text.startswith("✅ Saved: time 07:30.")
    assert "Time: 07:30" in reply.text
    spanish = harness.emulator.add_user("Ana", language_code="es")
    reply = await harness.say(spanish.id, spanish.id, "/settings hora 7pm")
    assert reply.text is not None
    assert reply.text.startswith("✅ Guardado: hora 19:00.")


async def test_timezones_by_city_name(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    for typed, zone in (
        ("Bogota", "America/Bogota"),  # as the picker's button says it
        ("bogotá", "America/Bogota"),
        ("MEXICO CITY", "America/Mexico_City"),
        ("Ciudad de México", "America/Mexico_City"),  # the city's Spanish name
        ("mexico", "America/Mexico_City"),  # unambiguous part of a name
        ("york", "America/New_York"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),  # not its older alias
        ("europe/madrid", "Europe/Madrid"),
    ):
        reply = await harness.say(user.id, user.id, f"/settings timezone {typed}")
        assert reply.text is not None
        assert f"Timezone: {zone}" in reply.text, typed
    target = await chats.get_target(harness.services.db, user.id)
    assert target is not None
    assert target.timezone == "Europe/Madrid"


async def test_an_ambiguous_or_unknown_timezone_gets_a_clear_answer(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/settings timezone santo")
    assert reply.text is not None
    assert "could be" in reply.text
    assert "America/Santo_Domingo" in reply.text
    assert "America/Santiago" not in reply.text, "santo is not a part of Santiago"
    reply = await harness.say(user.id, user.id, "/settings timezone san")
    assert reply.text is not None
    assert "could be" in reply.text
    assert "America/Santiago" in reply.text
    assert "America/Santo_Domingo" in reply.text
    reply = await harness.say(user.id, user.id, "/settings timezone Mars/Olympus")
    assert reply.text is not None
    assert "not a valid timezone" in reply.text
    assert reply.text.count("America/Mexico_City") == 1
    target = await chats.get_target(harness.services.db, user.id)
    assert target is not None
    assert target.timezone == "UTC"


async def test_the_language_picker_names_each_language_in_itself(harness: Harness) -> None:
    for name, code in (("Ann", "en"), ("Ana", "es")):
        user = harness.emulator.add_user(name, language_code=code)
        menu = await harness.say(user.id, user.id, "/settings")
        await harness.press(menu, text="🗣")
        shown = await harness.button_shown(menu, "English")
        labels = [b["text"] for b in shown.buttons]
        assert "Español" in labels or "✓ Español" in labels, labels
        assert not any("Spanish" in label or "español" in label for label in labels), labels


async def test_an_ambiguous_timezone_offers_its_zones_to_tap(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/settings timezone santo")
    assert [b["text"] for b in reply.buttons][:2] == ["Africa/Sao_Tome", "America/Santo_Domingo"]
    await harness.press(reply, text="America/Santo_Domingo")
    await harness.edited(reply, "Timezone: America/Santo_Domingo")
    target = await chats.get_target(harness.services.db, user.id)
    assert target is not None
    assert target.timezone == "America/Santo_Domingo"
