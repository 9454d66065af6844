"""The JSON control API, as a benchmark in another process would use it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
import telegram

from bot.emulator import ControlError, Emulator, EmulatorClient

ROOT = Path(__file__).resolve().parents[2]


async def test_control_api_drives_the_emulator(emulator: Emulator, bot: telegram.Bot) -> None:
    async with EmulatorClient(emulator.base_url) as control:
        assert (await control.health())["bot"]["id"] == emulator.bot.id
        user = await control.add_user("Ann", username="ann_c")
        forum = await control.add_chat("supergroup", "Forum", forum=True, owner_id=user["id"])
        thread = await control.add_topic(forum["id"], "Science")

        update = await control.send_user_message(user["id"], user["id"], "/start")
        assert update is not None
        assert update["message"]["entities"][0]["type"] == "bot_command"
        polled = await bot.get_updates()
        texts = [u.message.text for u in polled if u.message]
        assert texts == [None, "/start"]
        assert polled[0].message is not None
        assert polled[0].message.forum_topic_created is not None

        sent = await bot.send_message(
            user["id"],
            "hi",
            reply_markup=telegram.InlineKeyboardMarkup.from_button(
                telegram.InlineKeyboardButton("go", callback_data="go")
            ),
        )
        reply = await control.wait_for_bot_message(user["id"])
        assert reply["message_id"] == sent.message_id
        assert reply["from_bot"]
        query_id = await control.press_button(user["id"], sent.message_id, index=0)
        assert (await control.callback_answer(query_id))["answered"] is False

        await bot.send_message(forum["id"], "in topic", message_thread_id=thread)
        in_topic = await control.messages(forum["id"], from_bot=True, thread_id=thread)
        assert [m["text"] for m in in_topic] == ["in topic"]

        config = await control.configure(
            enforce_limits=True, limits={"per_chat_interval": 5.0}, faults={"seed": 3}
        )
        assert config["enforce_limits"] is True
        assert config["limits"]["per_chat_interval"] == 5.0
        config = await control.configure(faults={"rate_slow": 0.0})
        assert config["faults"]["seed"] == 3
        assert config["limits"]["per_chat_interval"] == 5.0
        await bot.send_message(user["id"], "one")
        with pytest.raises(telegram.error.RetryAfter):
            await bot.send_message(user["id"], "two")
        stats = await control.stats()
        assert stats["flood_429"] == 1
        assert stats["by_method"]["sendMessage"] == 4

        await control.inject_chat_fault(user["id"], "blocked")
        with pytest.raises(telegram.error.Forbidden):
            await bot.send_message(user["id"], "blocked")
        await control.clear_faults(user["id"])

        logged = await control.requests(method="sendmessage")
        assert {r["status"] for r in logged} >= {200, 429}
        assert await control.protocol_errors() == []

        document = await control.send_user_document(user["id"], user["id"], b"<opml/>", "a.opml")
        assert document is not None
        file_id = document["message"]["document"]["file_id"]
        assert await control.file_bytes(file_id) == b"<opml/>"

        with pytest.raises(ControlError, match="no chat"):
            await control.send_user_message(1, 1, "nobody")


async def test_standalone_process_prints_its_base_url() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.emulator",
        "--port",
        "0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        base_url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/bot")
        async with httpx.AsyncClient() as client:
            answer = await client.get(base_url + "123456789:EMULATOR-test-token/getMe")
        assert answer.json()["result"]["username"] == "digest_test_bot"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 5) == 0
