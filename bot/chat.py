"""The real bot against the local Bot API emulator, and a terminal chat with it.

`bot_on_emulator` is the one way to run the genuine PTB Application without
Telegram: the local chat mode, the end-to-end tests and the benchmarks all
go through it.
"""

from __future__ import annotations

import asyncio
import codecs
import itertools
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path, PurePath
from typing import Protocol

from telegram import Update

from bot.config import Settings
from bot.delivery.limits import Limits
from bot.emulator import (
    Emulator,
    EmulatorError,
    Event,
    FileRecord,
    MessageRecord,
    UserRecord,
)
from bot.i18n import language_of, t
from bot.numbers import whole_number
from bot.services import Services
from bot.telegram.app import App, build_application, running
from bot.terminal import numbered_buttons, render

QUIT = ("/quit", "/exit", "/salir")
SHOWN_KEPT = 500  # messages whose last look is remembered, to tell what an edit changed


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
    async with running(application):
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0.0, timeout=5, allowed_updates=Update.ALL_TYPES
        )
        try:
            yield application
        finally:
            await application.updater.stop()


class Screen(Protocol):
    """Where the local chat writes: the terminal, or a test's transcript."""

    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...


Keyboard = tuple[tuple[str, ...], ...]


class LocalChat:
    """One person's private chat with the bot, as lines of text.

    Shown: the bot's messages as they arrive or change, the keyboard of the
    latest one numbered, the pop-ups a button press answers with, files written
    to a folder (a terminal cannot show a chart), and inline results. Typed: a
    message, a button's number, or `@bot words` for an inline query.
    """

    def __init__(
        self,
        emulator: Emulator,
        user: UserRecord,
        screen: Screen,
        *,
        color: bool,
        language: str = "en",
        files: Path | None = None,
    ) -> None:
        self.emulator = emulator
        self.user = user
        self.screen = screen
        self.color = color
        self.language = language
        self._files = files
        self._keyboard: tuple[int, list[tuple[int, int]]] | None = None
        # What each message showed last, so an edit that only takes a button
        # away is not printed as the whole message again.
        self._shown: dict[int, tuple[str, Keyboard]] = {}
        self._inline_queries: set[str] = set()

    @property
    def bot_username(self) -> str:
        return self.emulator.bot.username or "bot"

    def say(self, text: str = "", *, end: str = "\n") -> None:
        print(text, end=end, file=self.screen, flush=True)

    def prompt(self) -> None:
        self.say("> ", end="")

    def introduce(self, *, admin: bool) -> None:
        """How to use the chat, and who the person is: the id ADMIN_IDS would need."""
        self.say(t(self.language, "chat.intro", bot=self.bot_username))
        self.say(t(self.language, "chat.you_admin" if admin else "chat.you", user_id=self.user.id))

    # -- what the bot does ---------------------------------------------------------

    def show(self, event: Event) -> None:
        """One thing the bot did that this person would see."""
        if event.kind == "inline_answered":
            self._show_inline(str(event.detail.get("query_id")))
            return
        if event.chat_id != self.user.id:
            return
        if event.kind == "callback_answered":
            self._show_answer(str(event.detail.get("query_id")))
            return
        message = event.message
        if message is None:
            return
        if event.kind == "deleted":
            self._shown.pop(message.message_id, None)
            self._forget_keyboard(message.message_id)
            return
        if event.kind in ("sent", "edited"):
            self._show_message(message)

    def _show_message(self, message: MessageRecord) -> None:
        text = render(
            message.text or message.caption or "",
            message.entities or message.caption_entities,
            color=self.color,
        )
        rows = (message.reply_markup or {}).get("inline_keyboard", [])
        labels: Keyboard = tuple(tuple(str(b.get("text", "")) for b in row) for row in rows)
        before = self._shown.pop(message.message_id, None)
        self._shown[message.message_id] = (text, labels)
        if len(self._shown) > SHOWN_KEPT:  # the oldest will not change any more
            del self._shown[next(iter(self._shown))]
        if not labels:
            self._forget_keyboard(message.message_id)
        if before is not None and before[0] == text and (before[1] == labels or not labels):
            return  # unchanged, or only the buttons went: nothing to read again
        if before is None or before[0] != text:
            self.say("\n" + text)
        if before is None and message.photo is not None:
            # A photo has no name on Telegram: what an upload was called is dropped.
            photo = message.photo
            path = self._write(photo, PurePath(photo.file_path).stem + _image_suffix(photo.data))
            self.say(t(self.language, "chat.file", path=path))
        if before is None and message.document is not None:
            path = self._write(message.document, message.document.file_name)
            self.say(t(self.language, "chat.file", path=path))
        if labels:
            listing, positions = numbered_buttons(labels)
            self.say(listing)
            self._keyboard = (message.message_id, positions)
        self.prompt()

    def _forget_keyboard(self, message_id: int) -> None:
        if self._keyboard is not None and self._keyboard[0] == message_id:
            self._keyboard = None

    def _show_answer(self, query_id: str) -> None:
        """The pop-up Telegram shows for a moment (or until dismissed, as an alert)."""
        answer = self.emulator.callback_answer(query_id)
        if answer.text:
            key = "chat.alert" if answer.show_alert else "chat.popup"
            self.say(t(self.language, key, text=answer.text))
            self.prompt()

    def _show_inline(self, query_id: str) -> None:
        if query_id not in self._inline_queries:
            return
        self._inline_queries.discard(query_id)
        answer = self.emulator.inline_answer(query_id)
        query = answer.query.strip()
        self.say(t(self.language, "chat.inline", bot=self.bot_username, query=query))
        if answer.button is not None:
            self.say(t(self.language, "chat.alert", text=answer.button.get("text", "")))
        if not answer.results and answer.button is None:
            self.say(t(self.language, "chat.inline_none"))
        for result in answer.results:
            self.say(f" • {result.get('title', '')}")
            for detail in (result.get("description"), result.get("url")):
                if detail:
                    self.say(f"   {detail}")
        if answer.next_offset and query:
            self.say(t(self.language, "chat.inline_more", query=query))
        self.prompt()

    def _write(self, file: FileRecord, name: str | None) -> Path:
        """Keep a file the bot sent where the person can open it, under its own
        name (no folders) and never over another."""
        if self._files is None:
            self._files = Path(tempfile.mkdtemp(prefix="bot-chat-"))
        self._files.mkdir(parents=True, exist_ok=True)
        name = PurePath(name or "").name or PurePath(file.file_path).name
        path = self._files / name
        stem, suffix = path.stem, path.suffix
        for number in itertools.count(2):
            if not path.exists():
                break
            path = self._files / f"{stem}-{number}{suffix}"
        path.write_bytes(file.data)
        return path.resolve()

    # -- what the person types -------------------------------------------------------

    def type(self, line: str) -> bool:
        """A button's number presses it, `@bot words` asks inline, other text is
        sent as a message. False when the person wants to leave."""
        line = line.strip()
        if line.lower() in QUIT:
            return False
        number = whole_number(line)
        if number is not None and self._keyboard is not None:
            message_id, positions = self._keyboard
            if 1 <= number <= len(positions):
                try:
                    self.emulator.press_button(
                        self.user.id, message_id, index=positions[number - 1]
                    )
                    return True
                except EmulatorError:  # the bot took its buttons away meanwhile
                    self._keyboard = None
        inline = self._inline_query(line)
        if inline is not None:
            self._inline_queries.add(self.emulator.inline_query(self.user.id, inline))
        elif line:
            self.emulator.send_user_message(self.user.id, self.user.id, line)
        return True

    def _inline_query(self, line: str) -> str | None:
        """The query of `@bot words` (or the bot's own @username), else None."""
        mention, _, words = line.partition(" ")
        names = {"@bot", f"@{self.bot_username}".lower()}
        return words.strip() if mention.lower() in names else None

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


_IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF8", ".gif"))


def _image_suffix(data: bytes) -> str:
    return next((suffix for magic, suffix in _IMAGE_SIGNATURES if data.startswith(magic)), "")


class TypedLines:
    """The lines typed in the terminal, read by the event loop itself when the
    terminal has some.

    Not `input()` in a thread: a thread blocked in `input()` keeps the process
    from ending on Ctrl-C until the next Enter. The descriptor stays blocking
    (it is shared with the shell); it is read only when it has data.
    """

    def __init__(self, fd: int, encoding: str) -> None:
        self._fd = fd
        self._loop = asyncio.get_running_loop()
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            chunk = os.read(self._fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the terminal went away
            chunk = b""
        if not chunk:
            self.close()
        self._chunks.put_nowait(chunk)

    def close(self) -> None:
        self._loop.remove_reader(self._fd)

    async def lines(self) -> AsyncIterator[str]:
        pending = ""
        while chunk := await self._chunks.get():
            pending += self._decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line
        if pending:
            yield pending


def terminal_language(environ: Mapping[str, str]) -> str | None:
    """The language the terminal's locale names (`es_MX.UTF-8` → `es-mx`), as a
    Telegram client would report it, whether or not that locale is installed;
    None for the C locale or none at all, so the bot falls back to DEFAULT_LANGUAGE."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            code = value.split(".")[0].split("@")[0]
            if code in ("C", "POSIX") or not code.isascii() or not code[:2].isalpha():
                return None
            return code.replace("_", "-").lower()
    return None


async def chat_in_terminal(
    settings: Settings, *, language: str | None = None, admin: bool = False
) -> int:
    """A private chat with the bot in this terminal, on the configured database.

    The person speaks `language`, else the terminal's; as `admin` their id joins
    ADMIN_IDS for this run."""
    code = language or terminal_language(os.environ)
    async with Emulator() as emulator:
        user = emulator.add_user("You", language_code=code)
        if admin and user.id not in settings.admin_ids:
            settings = settings.model_copy(update={"admin_ids": [*settings.admin_ids, user.id]})
        async with bot_on_emulator(emulator, settings):
            chat = LocalChat(
                emulator,
                user,
                sys.stdout,
                color=sys.stdout.isatty(),
                language=language_of(code, settings.default_language),
            )
            chat.introduce(admin=user.id in settings.admin_ids)
            lines = TypedLines(sys.stdin.fileno(), sys.stdin.encoding or "utf-8")
            try:
                await chat.run(lines.lines())
            finally:
                lines.close()
    return 0
