"""The local chat as a person uses it: lines typed, text shown, the real bot
behind the emulator. The command line itself (`python -m bot chat`) is driven
through a pseudo-terminal, as an operator types it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import select
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.chat import LocalChat, bot_on_emulator
from bot.config import Settings
from bot.emulator import Emulator
from bot.emulator.state import FIRST_USER_ID
from bot.i18n import t
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.runtime import open_content
from bot.services import Services

ROOT = Path(__file__).resolve().parents[1]


class Terminal:
    """The person's side of the chat: the lines they type, the text they see.

    `shows` waits for a text after everything an earlier `shows` matched, so a
    test reads the transcript in order, as the person would."""

    def __init__(self) -> None:
        self.text = ""
        self._read = 0
        self._typed: asyncio.Queue[str | None] = asyncio.Queue()
        self._changed = asyncio.Event()

    def write(self, text: str, /) -> int:
        self.text += text
        self._changed.set()
        return len(text)

    def flush(self) -> None:
        pass

    def type(self, line: str) -> None:
        self._typed.put_nowait(line)

    def close(self) -> None:
        self._typed.put_nowait(None)

    async def lines(self) -> AsyncIterator[str]:
        while (line := await self._typed.get()) is not None:
            yield line

    async def shows(self, needle: str, timeout: float = 10.0) -> str:  # noqa: ASYNC109
        """What appeared up to and including `needle`, once it has."""
        async with asyncio.timeout(timeout):
            while (found := self.text.find(needle, self._read)) < 0:
                self._changed.clear()
                await self._changed.wait()
        end = found + len(needle)
        seen, self._read = self.text[self._read : end], end
        return seen

    def number_of(self, label: str) -> str:
        """The number shown next to the latest button whose label contains `label`."""
        numbers = re.findall(rf"\[(\d+)\] [^\[\n]*{re.escape(label)}", self.text)
        assert numbers, f"no button {label!r} in {self.text[-800:]!r}"
        return str(numbers[-1])


@dataclass
class Session:
    emulator: Emulator
    services: Services
    terminal: Terminal
    chat: LocalChat

    async def add_articles(self, *titles: str) -> None:
        entries = [
            Entry(title=title, summary="A report on migration.", url=f"https://ex.org/{i}")
            for i, title in enumerate(titles)
        ]
        report = await ingest(
            self.services.db,
            entries,
            source="https://ex.org/feed",
            catalogue=self.services.catalogue,
            now=self.services.now(),
        )
        assert report.new == len(titles)


@pytest.fixture
async def session(emulator: Emulator, settings: Settings, tmp_path: Path) -> AsyncIterator[Session]:
    """A local chat as `python -m bot chat --admin` opens it, one article per digest page."""
    user = emulator.add_user("You")
    settings = settings.model_copy(update={"admin_ids": [user.id], "digest_max_items": 1})
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    terminal = Terminal()
    chat = LocalChat(emulator, user, terminal, color=False, files=tmp_path / "files")
    try:
        async with bot_on_emulator(emulator, settings, services=services):
            running = asyncio.create_task(chat.run(terminal.lines()))
            await terminal.shows("Hello")
            yield Session(emulator, services, terminal, chat)
            terminal.close()
            await running
    finally:
        await content.db.close()


async def test_a_buttons_answer_is_shown(session: Session) -> None:
    """The pop-up Telegram shows for a moment: without it a press can seem to do nothing."""
    terminal = session.terminal
    terminal.type("/topic migration")
    await terminal.shows("Subscribe to Migration")
    terminal.type(terminal.number_of("Subscribe to Migration"))
    await terminal.shows("Subscribed to Migration")
    await terminal.shows("Unsubscribe from Migration")
    terminal.type(terminal.number_of("Unsubscribe from Migration"))
    await terminal.shows("Unsubscribed from Migration")


async def test_a_digests_more_button_brings_each_page_once(session: Session) -> None:
    terminal, emulator = session.terminal, session.emulator
    terminal.type("/subscribe migration")
    await terminal.shows("Migration")
    titles = ("Caravan reaches the border", "Shelters fill up in Tijuana")
    await session.add_articles(*titles)
    terminal.type("/digest")

    def page_with(title: str) -> str | None:
        texts = [m.text or "" for m in emulator.bot_messages(session.chat.user.id)]
        return next((text for text in texts if title in text), None)

    first = await emulator.wait_for(lambda: page_with(titles[0]) or page_with(titles[1]))
    second = titles[1] if titles[0] in first else titles[0]
    await terminal.shows(titles[0] if second == titles[1] else titles[1])
    more = terminal.number_of("")
    terminal.type(more)
    await terminal.shows(second)
    terminal.type(more)  # the last page has no button: the number is only text now
    terminal.type("/help")
    await terminal.shows("/latest")
    pages = [m for m in emulator.bot_messages(session.chat.user.id) if second in (m.text or "")]
    assert len(pages) == 1
    assert terminal.text.count(second) == 1


async def test_the_stats_chart_and_the_export_are_written_to_files(session: Session) -> None:
    terminal = session.terminal
    terminal.type("/stats")
    png = Path((await terminal.shows(".png")).split()[-1])
    assert (await asyncio.to_thread(png.read_bytes)).startswith(b"\x89PNG")
    terminal.type("/export")
    opml = Path((await terminal.shows(".opml")).split()[-1])
    assert b"<opml" in await asyncio.to_thread(opml.read_bytes)
    assert png.parent == opml.parent


async def test_inline_mode_in_the_local_chat(session: Session) -> None:
    terminal = session.terminal
    username = session.emulator.bot.username
    for mention in ("@bot", f"@{username}"):
        terminal.type(f"{mention} juarez")
        await terminal.shows(t("en", "chat.inline", bot=username, query="juarez"))
        await terminal.shows("Death of Migrants in Ciudad Juárez")
    # Nothing was sent to the chat: an inline query is not a message.
    texts = [m.text or "" for m in session.emulator.messages(session.chat.user.id)]
    assert not [text for text in texts if "@bot" in text or "juarez" in text]


# -- the command line, in a pseudo-terminal --------------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    cleared = ("BOT_", "WEBHOOK_", "ADMIN_", "LC_", "LANG", "DEFAULT_LANGUAGE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(cleared)}
    env.update(DATABASE_PATH=str(tmp_path / "bot.sqlite3"), PYTHONPATH=str(ROOT), **extra)
    return env


class Pty:
    """`python -m bot <args>` in a pseudo-terminal of its own."""

    def __init__(self, tmp_path: Path, args: list[str], **env: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the command an operator types
            os.chdir(tmp_path)
            os.execvpe(sys.executable, [sys.executable, "-m", "bot", *args], _env(tmp_path, **env))
        self.seen = b""

    def read_until(self, needle: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while needle.encode() not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} not seen in {self.text()[-800:]!r}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                self.seen += chunk
        return self.text()

    def text(self) -> str:
        return self.seen.decode(errors="replace")

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def exit_code(self, timeout: float = 60.0) -> int | None:
        """The exit code, or None (and the child killed) if it did not end in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:  # keep reading, so the child never blocks on a full terminal
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.fd, 4096)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        return None

    def close(self) -> None:
        os.close(self.fd)


def test_chat_in_spanish_as_an_admin(tmp_path: Path) -> None:
    chat = Pty(tmp_path, ["chat", "--lang", "es", "--admin"])
    try:
        shown = chat.read_until("¡Hola")
        assert str(FIRST_USER_ID) in shown.split("¡Hola")[0]  # said before anything else
        chat.type(b"/stats\n")
        chart = Path(re.findall(r"\S+\.png", chat.read_until(".png"))[-1])
        assert chart.read_bytes().startswith(b"\x89PNG")
        chat.type(b"/quit\n")
        assert chat.exit_code() == 0
    finally:
        chat.close()


@pytest.mark.parametrize(
    "env",
    [{"LANG": "es_MX.UTF-8"}, {"LANG": "C.UTF-8", "DEFAULT_LANGUAGE": "es"}],
    ids=["LANG", "DEFAULT_LANGUAGE"],
)
def test_chat_speaks_the_terminals_language(tmp_path: Path, env: dict[str, str]) -> None:
    """Without the locale installed, and with no locale at all but DEFAULT_LANGUAGE."""
    chat = Pty(tmp_path, ["chat"], **env)
    try:
        chat.read_until("¡Hola")
        chat.type(b"/quit\n")
        assert chat.exit_code() == 0
    finally:
        chat.close()


def test_ctrl_c_leaves_the_chat_at_once(tmp_path: Path) -> None:
    chat = Pty(tmp_path, ["chat"])
    try:
        chat.read_until("Hello")
        chat.type(b"\x03")  # the terminal turns it into SIGINT; no Enter follows
        assert chat.exit_code() == 130, chat.text()[-800:]
        assert "Traceback" not in chat.text()
    finally:
        chat.close()
