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
from typing import Protocol

from telegram import Update

from bot.config import Settings
from bot.delivery.limits import Limits
from bot.emulator import Emulator, Event, MessageRecord, UserRecord
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


class Screen(Protocol):
    """Where the local chat writes: the terminal, or a test's transcript."""

    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...


class LocalChat:
    """One person's private chat with the bot, as lines of text: the bot's
    messages as they arrive or change, the keyboard of the latest one numbered,
    and what the person types sent as a message or, as a number, a button press.
    """

    def __init__(
        self, emulator: Emulator, user: UserRecord, screen: Screen, *, color: bool
    ) -> None:
        self.emulator = emulator
        self.user = user
        self.screen = screen
        self.color = color
        self._keyboard: tuple[int, list[tuple[int, int]]] | None = None

    def say(self, text: str = "", *, end: str = "\n") -> None:
        print(text, end=end, file=self.screen, flush=True)

    def prompt(self) -> None:
        self.say("> ", end="")

    def show(self, event: Event) -> None:
        """One thing the bot did in this chat."""
        message = event.message
        if message is None or event.chat_id != self.user.id:
            return
        if event.kind in ("sent", "edited"):
            positions = self._show_message(message)
            if positions:
                self._keyboard = (message.message_id, positions)
        self.prompt()

    def _show_message(self, message: MessageRecord) -> list[tuple[int, int]]:
        text = message.text or message.caption or ""
        self.say("\n" + render(text, message.entities, color=self.color))
        rows = (message.reply_markup or {}).get("inline_keyboard", [])
        labels = [[str(button.get("text", "")) for button in row] for row in rows]
        if not labels:
            return []
        listing, positions = numbered_buttons(labels)
        self.say(listing)
        return positions

    def type(self, line: str) -> bool:
        """What the person typed: a button's number presses it, other text is
        sent as a message. False when they want to leave."""
        line = line.strip()
        if line.lower() in QUIT:
            return False
        number = whole_number(line)
        if number is not None and self._keyboard is not None:
            message_id, positions = self._keyboard
            if 1 <= number <= len(positions):
                self.emulator.press_button(self.user.id, message_id, index=positions[number - 1])
                return True
        if line:
            self.emulator.send_user_message(self.user.id, self.user.id, line)
        return True

    async def run(self, lines: AsyncIterator[str]) -> None:
        """Greet the bot with /start, then follow it and the typed lines until
        the lines end or the person leaves."""
        events = self.emulator.events()

        async def follow() -> None:
            async for event in events:
                self.show(event)

        self.prompt()
        printer = asyncio.create_task(follow())
        self.emulator.send_user_message(self.user.id, self.user.id, "/start")
        try:
            async for line in lines:
                if not self.type(line):
                    break
        finally:
            events.close()
            printer.cancel()


async def _typed_lines() -> AsyncIterator[str]:
    while True:
        try:
            yield await asyncio.to_thread(input)
        except EOFError:
            return


async def chat_in_terminal(settings: Settings) -> int:
    """A private chat with the bot in this terminal, on the configured database."""
    language = language_of((locale.getlocale()[0] or "en")[:2])
    async with Emulator() as emulator:
        user = emulator.add_user("You", language_code=language)
        async with bot_on_emulator(emulator, settings):
            chat = LocalChat(emulator, user, sys.stdout, color=sys.stdout.isatty())
            chat.say("Local chat with the bot (no Telegram involved). Type /help, some words")
            chat.say("to search, a button's number to press it, or /quit to leave.")
            await chat.run(_typed_lines())
    return 0
