"""Updates reach the bot by long polling or by webhook, as from Telegram."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle
from telegram import InputTextMessageContent as TextContent
from telegram.error import BadRequest, Conflict

from bot.emulator import SECRET_HEADER, Emulator


async def test_long_poll_returns_as_soon_as_a_message_arrives(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    user = emulator.add_user("Ann")
    started = time.perf_counter()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await emulator.wait_for(lambda: emulator.polling)
    emulator.send_user_message(user.id, user.id, "/start@digest_test_bot hello")
    updates = await poll
    assert time.perf_counter() - started < 2
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.text == "/start@digest_test_bot hello"
    assert message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start@digest_test_bot")
    assert message.from_user is not None
    assert message.from_user.first_name == "Ann"

    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert emulator.pending_updates == 0


async def test_callback_query_and_answer(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("a", callback_data="A"),
                InlineKeyboardButton("b", callback_data="B"),
            ],
            [InlineKeyboardButton("site", url="https://example.org")],
        ]
    )
    sent = await bot.send_message(user.id, "choose", reply_markup=markup)
    query_id = emulator.press_button(user.id, sent.message_id, index=1)
    (update,) = await bot.get_updates(timeout=5)
    assert update.callback_query is not None
    assert update.callback_query.data == "B"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id
    assert not emulator.callback_answer(query_id).answered

    assert await update.callback_query.answer("Saved")
    answer = await emulator.wait_for_callback_answer(query_id)
    assert answer.text == "Saved"
    with pytest.raises(BadRequest, match="Query is too old"):
        await update.callback_query.answer("twice")
    assert len(emulator.take_protocol_errors()) == 1

    by_text = emulator.press_button(user.id, sent.message_id, text="a")
    by_position = emulator.press_button(user.id, sent.message_id, index=(0, 0))
    assert emulator.callback_answer(by_text).data == emulator.callback_answer(by_position).data


async def test_inline_query_and_answer(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    query_id = emulator.inline_query(user.id, "physics")
    (update,) = await bot.get_updates(timeout=5)
    assert update.inline_query is not None
    assert update.inline_query.query == "physics"
    article = InlineQueryResultArticle(
        "a1", "Quantum", TextContent("<b>Quantum</b> news", parse_mode="HTML")
    )
    await update.inline_query.answer([article], cache_time=0)
    answer = await emulator.wait_for_inline_answer(query_id)
    assert answer.results[0]["id"] == "a1"

    second = emulator.inline_query(user.id, "bad")
    (update,) = await bot.get_updates(offset=update.update_id + 1, timeout=5)
    assert update.inline_query is not None
    broken = InlineQueryResultArticle("b1", "Bad", TextContent("<b>oops", parse_mode="HTML"))
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await update.inline_query.answer([broken])
    duplicate = [article, article]
    with pytest.raises(BadRequest, match="Result_id_duplicate"):
        await update.inline_query.answer(duplicate)
    too_many = [InlineQueryResultArticle(str(i), "t", TextContent("x")) for i in range(51)]
    with pytest.raises(BadRequest, match="Results_too_much"):
        await update.inline_query.answer(too_many)
    assert not emulator.inline_answer(second).answered
    assert len(emulator.take_protocol_errors()) == 3


async def test_offsets_limit_and_allowed_updates(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    for n in range(3):
        emulator.send_user_message(user.id, user.id, f"m{n}")
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["m0", "m1"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["m2"]
    last = await bot.get_updates(offset=-1)
    assert [u.update_id for u in last] == [rest[-1].update_id]

    await bot.get_updates(offset=rest[-1].update_id + 1, allowed_updates=["callback_query"])
    emulator.send_user_message(user.id, user.id, "filtered out")
    assert emulator.pending_updates == 0
    await bot.get_updates(allowed_updates=[])
    emulator.send_user_message(user.id, user.id, "back")
    assert emulator.pending_updates == 1


async def test_second_poll_terminates_the_first(emulator: Emulator, bot: telegram.Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await emulator.wait_for(lambda: emulator.polling)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    assert await second == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_group_privacy_mode(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    group = emulator.add_group("G", members=[user.id])
    assert emulator.send_user_message(group.id, user.id, "just chatting") is None
    assert emulator.send_user_message(group.id, user.id, "/digest") is not None
    assert emulator.send_user_message(group.id, user.id, "/digest@other_bot") is None
    assert emulator.send_user_message(group.id, user.id, "hey @digest_test_bot") is not None
    emulator.chat(group.id).bot_status = "administrator"
    assert emulator.send_user_message(group.id, user.id, "now visible") is not None
    assert len(emulator.messages(group.id)) == 5


async def test_membership_channel_posts_and_migration(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    admin = emulator.add_user()
    channel = emulator.add_channel("News", admins=[admin.id], bot_status="left")
    emulator.bot_membership_changed(channel.id, admin.id, "administrator")
    emulator.channel_post(channel.id, "Fresh article")
    group = emulator.add_group("G", owner_id=admin.id)
    new_id = emulator.migrate_to_supergroup(group.id)
    emulator.bot_membership_changed(admin.id, admin.id, "kicked")

    updates = await bot.get_updates()
    kinds = [
        (u.my_chat_member.new_chat_member.status if u.my_chat_member else None)
        or (u.channel_post.text if u.channel_post else None)
        or (u.message.migrate_to_chat_id or u.message.migrate_from_chat_id if u.message else None)
        for u in updates
    ]
    assert kinds == ["administrator", "Fresh article", new_id, group.id, "kicked"]
    with pytest.raises(telegram.error.Forbidden, match="blocked by the user"):
        await bot.send_message(admin.id, "hello?")


Pushed = asyncio.Queue[tuple[str | None, dict[str, Any]]]
"""What the webhook endpoint received: the secret header and the update."""


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, Pushed]]:
    """A bare webhook endpoint on loopback that records what Telegram pushes."""
    received: Pushed = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/hook", received
    await runner.cleanup()


async def test_webhook_push_with_secret(
    emulator: Emulator,
    bot: telegram.Bot,
    receiver: tuple[str, Pushed],
) -> None:
    url, received = receiver
    user = emulator.add_user()
    emulator.send_user_message(user.id, user.id, "queued before")
    assert await bot.set_webhook(url, secret_token="s3cr3t_token")
    emulator.send_user_message(user.id, user.id, "after")

    pushed = [await asyncio.wait_for(received.get(), 5) for _ in range(2)]
    assert [secret for secret, _ in pushed] == ["s3cr3t_token", "s3cr3t_token"]
    texts = [body["message"]["text"] for _, body in pushed]
    assert texts == ["queued before", "after"]

    info = await bot.get_webhook_info()
    assert info.url == url
    assert info.pending_update_count == 0
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook()
    emulator.send_user_message(user.id, user.id, "polled")
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.text == "polled"


async def test_webhook_outside_loopback_is_refused(emulator: Emulator, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Bad webhook"):
        await bot.set_webhook("https://example.org/hook")
    assert len(emulator.take_protocol_errors()) == 1


async def test_webhook_retries_until_the_bot_answers(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    attempts: list[int] = []

    async def flaky(request: web.Request) -> web.Response:
        attempts.append(1)
        return web.Response(status=500 if len(attempts) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        emulator.core.webhook.retry_delay = 0.01
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        emulator.send_user_message(user.id, user.id, "retry me")
        await emulator.wait_for(lambda: emulator.pending_updates == 0 and len(attempts) == 2)
        info = await bot.get_webhook_info()
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
    finally:
        await bot.delete_webhook()
        await runner.cleanup()
