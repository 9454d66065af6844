"""Errors reach the user as an apology; the bot leaving a chat deactivates it."""

from __future__ import annotations

import logging

import pytest

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.emulator import Emulator
from bot.runtime import open_content
from bot.services import Services
from bot.store import chats, outbox
from bot.store.outbox import NewMessage
from tests.harness import Harness, eventually, sender_of


async def test_an_internal_error_is_an_apology_in_the_users_language(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    user = harness.emulator.add_user("Ana", language_code="es")
    await harness.say(user.id, user.id, "/start")
    async with harness.services.db.transaction() as tx:
        await tx.execute("ALTER TABLE subscriptions RENAME TO subscriptions_gone")
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        reply = await harness.say(user.id, user.id, "/mysubs")
    assert reply.text == "Lo siento, algo falló de mi lado. Vuelve a intentarlo en un momento."
    assert "Traceback" not in (reply.text or "")
    assert any("error while handling message" in r.getMessage() for r in caplog.records)


async def test_blocking_deactivates_and_start_reactivates(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    await harness.say(user.id, user.id, "/subscribe migration")
    harness.emulator.bot_membership_changed(user.id, user.id, "kicked")

    async def inactive() -> bool:
        chat = await chats.get_chat(harness.services.db, user.id)
        return chat is not None and not chat.active

    await eventually(inactive)
    harness.emulator.bot_membership_changed(user.id, user.id, "member")
    reply = await harness.say(user.id, user.id, "/start")
    assert reply.text is not None
    chat = await chats.get_chat(harness.services.db, user.id)
    assert chat is not None
    assert chat.active
    target = await chats.get_target(harness.services.db, user.id)
    assert target is not None
    mine = await harness.say(user.id, user.id, "/mysubs")
    assert "Migration" in (mine.text or "")


async def test_the_services_are_whole_before_the_bot_and_after_it(
    emulator: Emulator, settings: Settings
) -> None:
    """The services are made once, before the bot exists (as tests and the
    lifespan make them), and nothing of a stopped bot stays reachable from
    them: queuing a message after it stopped rings no stopped sender, and a
    second bot on the same services gets the ring."""
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        for _ in range(2):
            async with bot_on_emulator(emulator, settings, services=services) as app:
                reader = emulator.add_user("Rin")
                await outbox.enqueue(
                    services.db, [NewMessage.text(reader.id, "Queued", kind="notice")]
                )
                services.wake_sender()
                await sender_of(app).wait_empty()
                assert [m.text for m in emulator.bot_messages(reader.id)] == ["Queued"]
            assert app.bot_data.sender is None
            services.wake_sender()  # no bot: nothing to wake, nothing raised
    finally:
        await content.db.close()
