"""Two `python -m bot run` on one PostgreSQL store, polling the emulator, are one bot:
the leader answers and sends the outbox (queued by anyone, with a notice); when the
leader's process is killed (kill -9), the other answers within seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from bot.emulator import Emulator
from bot.services import Doorbell
from bot.store import outbox
from bot.store.db import Database
from bot.store.leader import notices_for
from bot.store.outbox import NewMessage

ROOT = Path(__file__).resolve().parents[2]
TAKEOVER = 15.0  # seconds: how soon another bot leads once the leader dies
START = 60.0


class Replica:
    """One `python -m bot run`, its log read line by line as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._seen = asyncio.Condition()
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            async with self._seen:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self._seen.notify_all()

    async def logged(self, text: str, timeout: float = START) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self._seen:
            await self._seen.wait_for(lambda: any(text in line for line in self.lines))

    async def end(self, signum: int = signal.SIGTERM) -> str:
        if self.process.returncode is None:
            self.process.send_signal(signum)
        await asyncio.wait_for(self.process.wait(), 30)
        await self._reading
        return "\n".join(self.lines)


@asynccontextmanager
async def replica(tmp_path: Path, emulator: Emulator, url: str) -> AsyncIterator[Replica]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_", "ADMIN_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=url,
        BOT_TOKEN=emulator.token,
        TELEGRAM_BASE_URL=emulator.base_url,
        LOG_LEVEL="INFO",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    running = Replica(process)
    try:
        yield running
    finally:
        await running.end(signal.SIGKILL)


async def test_two_processes_are_one_bot_and_the_survivor_of_a_kill_answers(
    tmp_path: Path, postgres_url: str
) -> None:
    async with Emulator() as emulator, AsyncExitStack() as stack:
        first = await stack.enter_async_context(replica(tmp_path, emulator, postgres_url))
        await first.logged("this bot leads")
        await first.logged("polling: this bot leads")
        second = await stack.enter_async_context(replica(tmp_path, emulator, postgres_url))
        await second.logged("Application started")

        ann = emulator.add_user("Ann")
        emulator.send_user_message(ann.id, ann.id, "/start")
        await emulator.wait_for_bot_message(ann.id, timeout=START)

        # A row queued from elsewhere (the command line, a follower) with a notice.
        db = await Database.open(postgres_url)
        stack.push_async_callback(db.close)
        await outbox.enqueue(db, [NewMessage.text(ann.id, "Queued elsewhere", kind="notice")])
        await notices_for(db).notify(Doorbell.CHANNEL)
        await emulator.wait_for_bot_message(
            ann.id, lambda message: message.text == "Queued elsewhere", timeout=START
        )

        await first.end(signal.SIGKILL)
        await second.logged("polling: this bot leads", timeout=TAKEOVER)
        answered = len(emulator.bot_messages(ann.id))
        emulator.send_user_message(ann.id, ann.id, "/help")
        await emulator.wait_for(
            lambda: len(emulator.bot_messages(ann.id)) > answered or None, timeout=START
        )
        assert emulator.take_protocol_errors() == []
        output = await second.end()
    assert "Traceback" not in output, output
    assert " ERROR " not in output, output
