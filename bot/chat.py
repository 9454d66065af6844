"""The real bot against the local Bot API emulator, and a terminal chat with it.

`bot_on_emulator` is the one way to run the genuine PTB Application without
Telegram: the local chat mode, the end-to-end tests and the benchmarks all
go through it.
"""

from __future__ import annotations

import asyncio
import locale
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update

from bot.config import Settings
from bot.delivery.limits import Limits
from bot.emulator import Emulator, MessageRecord
from bot.i18n import language_of
from bot.numbers import whole_number
from bot.telegram.app import App, build_application
from bot.telegram.services import Services
from bot.terminal import numbered_buttons, render

QUIT = ("/quit", "/exit", "/salir")


@asynccontextmanager
async def bot_on_emulator(
    emulator: Emulator,
    settings: Settings,
    *,
    services: Services | None = None,
    limits: Limits | None = None,
) -> AsyncIterator[App]:
    """Start the Application polling the emulator; stop it cleanly on exit."""
    settings = settings.model_copy(update={"telegram_base_url": emulator.base_url})
    application = build_application(settings, emulator.token, services=services, limits=limits)
    await application.initialize()
    if application.post_init is not None:
        try:
            await application.post_init(application)
        except BaseException:
            await application.shutdown()  # post_init let go of what it had taken
            raise
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0.0, timeout=5, allowed_updates=Update.ALL_TYPES
    )
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        await application.shutdown()


def _show(message: MessageRecord, color: bool) -> list[tuple[int, int]]:
    text = render(message.text or message.caption or "", message.entities, color=color)
    print(f"\n{text}")
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    labels = [[str(button.get("text", "")) for button in row] for row in rows]
    if not labels:
        return []
    listing, positions = numbered_buttons(labels)
    print(listing)
    return positions


async def chat_in_terminal(settings: Settings) -> int:
    """A private chat with the bot in this terminal, on the configured database."""
    color = sys.stdout.isatty()
    language = language_of((locale.getlocale()[0] or "en")[:2])
    async with Emulator() as emulator:
        user = emulator.add_user("You", language_code=language)
        async with bot_on_emulator(emulator, settings):
            print("Local chat with the bot (no Telegram involved). Type /help, some words")
            print("to search, a button's number to press it, or /quit to leave.")
            buttons: dict[str, tuple[int, list[tuple[int, int]]]] = {}
            events = emulator.events()

            async def show_replies() -> None:
                async for event in events:
                    message = event.message
                    if message is None or event.chat_id != user.id:
                        continue
                    if event.kind in ("sent", "edited"):
                        positions = _show(message, color)
                        if positions:
                            buttons["last"] = (message.message_id, positions)
                    print("> ", end="", flush=True)

            print("> ", end="", flush=True)
            printer = asyncio.create_task(show_replies())
            emulator.send_user_message(user.id, user.id, "/start")
            try:
                while True:
                    try:
                        line = (await asyncio.to_thread(input)).strip()
                    except EOFError:
                        break
                    if line.lower() in QUIT:
                        break
                    number = whole_number(line)
                    if number is not None and "last" in buttons:
                        message_id, positions = buttons["last"]
                        if 1 <= number <= len(positions):
                            emulator.press_button(user.id, message_id, index=positions[number - 1])
                            continue
                    if line:
                        emulator.send_user_message(user.id, user.id, line)
            finally:
                events.close()
                printer.cancel()
    return 0
