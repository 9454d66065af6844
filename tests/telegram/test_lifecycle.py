"""Errors reach the user as an apology; the bot leaving a chat deactivates it."""

from __future__ import annotations

import logging

import pytest

from bot.store import chats
from tests.harness import Harness, eventually


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
