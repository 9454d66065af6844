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
            enforce_limits=True,
            limits={"per_chat_interval": 5.0, "per_chat_burst": 1},
            faults={"seed": 3},
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


async def test_a_channel_viewer_presses_buttons_but_is_no_admin(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    """A channel's reader sees its messages and can press their buttons (even with
    data of their own); getChatMember tells them apart from the channel's admins."""
    async with EmulatorClient(emulator.base_url) as control:
        owner, editor, reader, passer_by = [
            (await control.add_user(name))["id"] for name in ("Own", "Ed", "Rea", "Pas")
        ]
        channel = await control.add_chat(
            "channel", "Notes", owner_id=owner, admins=[editor], members=[reader]
        )
        sent = await bot.send_message(
            channel["id"],
            "post",
            reply_markup=telegram.InlineKeyboardMarkup.from_button(
                telegram.InlineKeyboardButton("go", callback_data="go")
            ),
        )
        pressed = await control.press_button(
            channel["id"], sent.message_id, index=0, user_id=reader
        )
        forged = await control.press_button(
            channel["id"], sent.message_id, user_id=passer_by, forged_data="lt"
        )
        presses = [u.callback_query for u in await bot.get_updates() if u.callback_query]
        assert [(q.id, q.from_user.id, q.data) for q in presses] == [
            (pressed, reader, "go"),
            (forged, passer_by, "lt"),
        ]
        assert all(q.message is not None and q.message.chat.id == channel["id"] for q in presses)
        statuses = [
            (await bot.get_chat_member(channel["id"], user)).status
            for user in (owner, editor, reader, passer_by)
        ]
        assert statuses == ["creator", "administrator", "member", "left"]


async def test_control_api_publishes_a_feed(emulator: Emulator) -> None:
    """A benchmark in another process makes a feed gain an article, as a publisher would."""
    async with EmulatorClient(emulator.base_url) as control:
        url = await control.publish_feed("news.xml", "<rss>one</rss>")
        assert url == emulator.feed_url("news.xml")
        async with httpx.AsyncClient() as http:
            assert (await http.get(url)).text == "<rss>one</rss>"
            await control.publish_feed("news.xml", "<rss>two</rss>")
            assert (await http.get(url)).text == "<rss>two</rss>"
