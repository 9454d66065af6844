"""Command menus are kept per scope and language, like Telegram does."""

from __future__ import annotations

import pytest
import telegram
from telegram import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import BadRequest

from bot.emulator import Emulator

EN = [BotCommand("digest", "Today's digest"), BotCommand("search", "Find articles")]
RU = [BotCommand("digest", "Дайджест за сегодня")]


async def test_commands_per_scope_and_language(emulator: Emulator, bot: telegram.Bot) -> None:
    group = emulator.add_supergroup("Readers")
    assert await bot.set_my_commands(EN)
    assert await bot.set_my_commands(RU, language_code="ru")
    assert await bot.set_my_commands(EN[:1], scope=BotCommandScopeChat(group.id))
    assert await bot.set_my_commands(EN[1:], scope=BotCommandScopeAllPrivateChats())

    assert await bot.get_my_commands() == tuple(EN)
    assert await bot.get_my_commands(language_code="ru") == tuple(RU)
    assert await bot.get_my_commands(language_code="de") == ()
    assert await bot.get_my_commands(scope=BotCommandScopeChat(group.id)) == tuple(EN[:1])
    assert emulator.commands({"type": "chat", "chat_id": group.id}) == [
        {"command": "digest", "description": "Today's digest"}
    ]
    assert emulator.commands(language_code="ru")[0]["description"] == "Дайджест за сегодня"

    assert await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == ()


async def test_invalid_commands(emulator: Emulator, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Digest", "capital letters")])
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands(EN, scope=BotCommandScopeChat(-1))
    assert len(emulator.take_protocol_errors()) == 2
