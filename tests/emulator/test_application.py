"""A real PTB Application, polling the emulator, answers a user end to end."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.emulator import Emulator
from bot.telegram.webhook import WebhookServer


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    button = InlineKeyboardButton("Subscribe", callback_data="sub:science")
    await update.effective_message.reply_html(
        "<b>Welcome!</b> Pick a topic.", reply_markup=InlineKeyboardMarkup([[button]])
    )


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Subscribed")
    await query.edit_message_text(f"Subscribed to {query.data}")


@pytest.fixture
async def app(emulator: Emulator) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(emulator.token)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(subscribe))
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=5)
        await application.start()
        yield application
        await application.updater.stop()
        await application.stop()


async def test_application_answers_over_polling(
    emulator: Emulator,
    app: Application,  # type: ignore[type-arg]
) -> None:
    user = emulator.add_user("Ann")
    emulator.send_user_message(user.id, user.id, "/start")
    reply = await emulator.wait_for_bot_message(user.id)
    assert reply.text == "Welcome! Pick a topic."

    query_id = emulator.press_button(user.id, reply.message_id, "sub:science")
    answer = await emulator.wait_for_callback_answer(query_id)
    assert answer.text == "Subscribed"
    await emulator.wait_for(lambda: reply.text == "Subscribed to sub:science")
    assert emulator.protocol_errors == []


async def test_application_answers_over_its_webhook(emulator: Emulator) -> None:
    """The bot's webhook endpoint checks the secret header the emulator sends."""
    secret = "digest-secret-" + "x" * 32
    application = (
        ApplicationBuilder()
        .token(emulator.token)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .updater(None)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = WebhookServer(application, path="hook", secret=secret)
    async with application:
        await server.start("127.0.0.1", port)
        await application.bot.set_webhook(url=f"http://127.0.0.1:{port}/hook", secret_token=secret)
        await application.start()
        try:
            assert emulator.webhook is not None
            assert emulator.webhook.secret_token == secret
            user = emulator.add_user()
            emulator.send_user_message(user.id, user.id, "/start")
            reply = await emulator.wait_for_bot_message(user.id)
            assert reply.text == "Welcome! Pick a topic."
        finally:
            await server.stop()
            await application.stop()
