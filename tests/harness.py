"""Talking to the real bot through the emulator, as a user would."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.delivery.limits import Limits
from bot.delivery.sender import OutboxSender
from bot.emulator import Emulator, MessageRecord
from bot.runtime import open_content
from bot.services import Services
from bot.telegram.app import App


@dataclass
class Harness:
    emulator: Emulator
    services: Services
    app: App

    @property
    def sender(self) -> OutboxSender:
        return sender_of(self.app)

    async def say(
        self, chat_id: int, user_id: int, text: str, *, thread_id: int | None = None
    ) -> MessageRecord:
        """A user writes; the bot's next message in that chat (and thread)."""
        self.emulator.send_user_message(chat_id, user_id, text, thread_id=thread_id)
        return await self.emulator.wait_for_bot_message(chat_id, thread_id=thread_id)

    async def press(self, message: MessageRecord, *, text: str, user_id: int | None = None) -> str:
        """Press the button whose label contains `text`; the callback query id."""
        label = next(b["text"] for b in message.buttons if text in b["text"])
        query_id = self.emulator.press_button(
            message.chat_id, message.message_id, text=label, user_id=user_id
        )
        await self.emulator.wait_for_callback_answer(query_id)
        return query_id

    async def edited(
        self,
        message: MessageRecord,
        contains: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to the emulator's wait
    ) -> MessageRecord:
        """The same message once an edit has put `contains` in its text."""

        def current() -> MessageRecord | None:
            now = self.emulator.message(message.chat_id, message.message_id)
            return now if now is not None and contains in (now.text or "") else None

        return await self.emulator.wait_for(current, timeout)

    async def button_shown(self, message: MessageRecord, label: str) -> MessageRecord:
        def current() -> MessageRecord | None:
            now = self.emulator.message(message.chat_id, message.message_id)
            found = now is not None and any(label in b["text"] for b in now.buttons)
            return now if found else None

        return await self.emulator.wait_for(current)


QUICK_LIMITS = Limits(group_interval=0.05, private_interval=0.05)
"""Our own spacing, quickened, for runs where the emulator does not enforce
Telegram's limits: no need to wait seconds between a group's messages."""


@asynccontextmanager
async def bot_harness(
    emulator: Emulator, settings: Settings, *, limits: Limits | None = None
) -> AsyncIterator[Harness]:
    """The real bot on the emulator, on `settings`' database with its content
    opened as a start-up opens it; the jobs are left to the test."""
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        async with bot_on_emulator(emulator, settings, services=services, limits=limits) as app:
            yield Harness(emulator, services, app)
    finally:
        await content.db.close()


def sender_of(app: App) -> OutboxSender:
    """The outbox sender the running bot's lifespan started."""
    sender = app.bot_data.sender
    assert sender is not None, "the bot is not running"
    return sender


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait for a condition on state outside the emulator (the database)."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - SQLite has no change notification
            await asyncio.sleep(0.02)


ROOT = Path(__file__).resolve().parent.parent


def fresh_python(code: str, tmp_path: Path, *, dropped: tuple[str, ...], **env: str) -> Any:
    """What `code` prints as JSON, run by a fresh interpreter in `tmp_path` (no
    `.env` there) on a database of its own, without the environment's variables
    that start with `dropped`."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith(dropped)}
    clean.update(PYTHONPATH=str(ROOT), DATABASE_PATH=str(tmp_path / "bot.sqlite3"), **env)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=clean,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
