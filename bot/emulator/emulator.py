"""`Emulator`: a local Telegram for one bot, driven from Python.

Start it, point PTB at `base_url`/`base_file_url`, then play the users
(`send_user_message`, `press_button`, ...) and read back what the bot did
(`bot_messages`, `requests`, `protocol_errors`). The `wait_for*` helpers wake on
every request the bot makes, so tests never sleep for a fixed time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from . import simulate
from .control import add_control_routes
from .core import Core
from .events import Subscription
from .faults import ChatFault, FaultPlan
from .feeds import FeedSite
from .journal import ProtocolError, RequestRecord
from .limits import FloodLimits
from .models import (
    CallbackQueryRecord,
    ChatRecord,
    ChatType,
    EmulatorError,
    FileRecord,
    InlineQueryRecord,
    MessageRecord,
    UserRecord,
)
from .photos import PhotoRefusal, PhotoUrls
from .server import build_app
from .webhook import WebhookConfig

T = TypeVar("T")

DEFAULT_TOKEN = "123456789:EMULATOR-test-token"


@dataclass(frozen=True, slots=True)
class Stats:
    requests: int
    by_method: dict[str, int]
    delivered: int
    """Messages the bot got accepted (sent, copied, forwarded)."""
    flood_429: int
    """429 answers caused by the flood limits (injected 429s are counted in `faults`)."""
    paid_messages: int
    """Messages accepted with `allow_paid_broadcast`."""
    stars_spent: float
    """What they cost: 0.1 Star each."""
    faults: dict[str, int]
    faults_total: int
    protocol_errors: int
    pending_updates: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Emulator:
    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "digest_test_bot",
        bot_first_name: str = "Digest Bot",
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_limits: bool = False,
        limits: FloodLimits | None = None,
        faults: FaultPlan | None = None,
        privacy_mode: bool = True,
        request_log_limit: int | None = 50_000,
        webhook_retry_delay: float = 0.2,
        history_limit: int | None = None,
        control_api: bool = True,
    ) -> None:
        """`history_limit` keeps only the newest messages per chat (None: all of them);
        `request_log_limit` likewise bounds the request log."""
        self.core = Core(
            token=token,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            privacy_mode=privacy_mode,
            enforce_limits=enforce_limits,
            limits=limits,
            fault_plan=faults,
            request_log_limit=request_log_limit,
            webhook_retry_delay=webhook_retry_delay,
            history_limit=history_limit,
        )
        self.host = host
        self.port = port
        self._control_api = control_api
        self._runner: web.AppRunner | None = None
        self._cursors: dict[int, int] = {}
        self._pokes: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> Emulator:
        app = build_app(self.core)
        if self._control_api:
            add_control_routes(app, self)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner
        return self

    async def stop(self) -> None:
        core = self.core
        core.closing.set()
        core.updates.close()
        await core.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._pokes):
            task.cancel()

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For `ApplicationBuilder().base_url(...)`: PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def feeds(self) -> FeedSite:
        """The web feeds served beside the Bot API (see `FeedSite`)."""
        return self.core.feeds

    @property
    def photo_urls(self) -> PhotoUrls:
        """Which photo URLs Telegram would fail to fetch (see `PhotoUrls`)."""
        return self.core.photo_urls

    def refuse_photo_url(
        self,
        url: str,
        refusal: PhotoRefusal | str = PhotoRefusal.UNREACHABLE,
        *,
        prefix: bool = False,
    ) -> None:
        """Answer a sendPhoto naming `url` (or any URL starting with it, with
        `prefix`) as Telegram does when it cannot use the image: `unreachable`
        ("failed to get HTTP URL content"), `wrong_identifier` ("wrong file
        identifier/HTTP URL specified") or `wrong_type`. Counted as a fault."""
        self.core.photo_urls.refuse(url, refusal, prefix=prefix)

    def feed_url(self, name: str, *, host: str | None = None) -> str:
        """Where `feeds` serves `name`; `host` names this server another way
        (`localhost`), as a feed's own host name would."""
        return f"http://{host or self.host}:{self.port}/feeds/{name}"

    @property
    def token(self) -> str:
        return self.core.token

    @property
    def bot(self) -> UserRecord:
        return self.core.bot

    # -- configuration -------------------------------------------------------------

    @property
    def enforce_limits(self) -> bool:
        return self.core.enforce_limits

    @enforce_limits.setter
    def enforce_limits(self, value: bool) -> None:
        if value and not self.core.enforce_limits:
            self.core.flood.reset()
        self.core.enforce_limits = value

    @property
    def limits(self) -> FloodLimits:
        return self.core.flood.limits

    @limits.setter
    def limits(self, value: FloodLimits) -> None:
        self.core.flood.limits = value
        self.core.flood.reset()

    @property
    def fault_plan(self) -> FaultPlan:
        return self.core.faults.plan

    @fault_plan.setter
    def fault_plan(self, plan: FaultPlan) -> None:
        """Replace the random-fault plan; its seed restarts the random sequence."""
        self.core.faults.configure(plan)

    def inject_chat_fault(self, chat_id: int, fault: ChatFault | str) -> None:
        """Answer every gated call for the chat with this fault until cleared.

        `migrated` really upgrades the group, so the new supergroup exists.
        """
        fault = ChatFault(fault)
        chat = self.core.world.chat(chat_id)
        if fault is ChatFault.MIGRATED:
            simulate.migrate_group(self.core, chat.id)
        self.core.faults.chat_faults[chat.id] = fault
        self._poke()

    def inject_thread_fault(self, chat_id: int, thread_id: int) -> None:
        """Answer "message thread not found" for this topic."""
        self.core.faults.thread_faults.add((chat_id, thread_id))

    def clear_faults(self, chat_id: int | None = None) -> None:
        faults = self.core.faults
        if chat_id is None:
            faults.clear()
            return
        faults.chat_faults.pop(chat_id, None)
        faults.thread_faults = {key for key in faults.thread_faults if key[0] != chat_id}

    # -- the world -----------------------------------------------------------------

    def add_user(
        self,
        first_name: str = "Test",
        *,
        user_id: int | None = None,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        started: bool = True,
    ) -> UserRecord:
        """A user and their private chat (chat id == user id).

        With `started=False` the user has never opened the bot, so the bot gets
        403 until the user writes to it.
        """
        return self.core.world.add_user(
            first_name,
            user_id=user_id,
            username=username,
            last_name=last_name,
            language_code=language_code,
            started=started,
        )

    def add_group(
        self,
        title: str,
        *,
        members: tuple[int, ...] | list[int] = (),
        admins: tuple[int, ...] | list[int] = (),
        owner_id: int | None = None,
        chat_id: int | None = None,
        bot_status: str = "member",
    ) -> ChatRecord:
        return self.core.world.add_chat(
            ChatType.GROUP,
            title,
            chat_id=chat_id,
            owner_id=owner_id,
            members=members,
            admins=admins,
            bot_status=bot_status,
        )

    def add_supergroup(
        self,
        title: str,
        *,
        forum: bool = False,
        username: str | None = None,
        members: tuple[int, ...] | list[int] = (),
        admins: tuple[int, ...] | list[int] = (),
        owner_id: int | None = None,
        chat_id: int | None = None,
        bot_status: str = "member",
    ) -> ChatRecord:
        return self.core.world.add_chat(
            ChatType.SUPERGROUP,
            title,
            chat_id=chat_id,
            username=username,
            is_forum=forum,
            owner_id=owner_id,
            members=members,
            admins=admins,
            bot_status=bot_status,
        )

    def add_channel(
        self,
        title: str,
        *,
        username: str | None = None,
        admins: tuple[int, ...] | list[int] = (),
        members: tuple[int, ...] | list[int] = (),
        owner_id: int | None = None,
        chat_id: int | None = None,
        bot_status: str = "administrator",
    ) -> ChatRecord:
        """A channel; `members` are its subscribers, who read it and can press
        the buttons of its messages but are not its admins (getChatMember says
        "member"). Anyone else may press too, as a reader of a public channel
        does without joining ("left")."""
        return self.core.world.add_chat(
            ChatType.CHANNEL,
            title,
            chat_id=chat_id,
            username=username,
            owner_id=owner_id,
            members=members,
            admins=admins,
            bot_status=bot_status,
        )

    def add_topic(self, chat_id: int, name: str, *, by_user_id: int | None = None) -> int:
        """Open a topic in a forum supergroup; returns its message_thread_id."""
        thread_id = simulate.create_topic(self.core, chat_id, name, by_user_id=by_user_id)
        self._poke()
        return thread_id

    def add_member(self, chat_id: int, user_id: int) -> None:
        self.core.world.user(user_id)
        self.core.world.chat(chat_id).members.add(user_id)

    def set_admin(self, chat_id: int, user_id: int, is_admin: bool = True) -> None:
        chat = self.core.world.chat(chat_id)
        self.core.world.user(user_id)
        if is_admin:
            chat.admins.add(user_id)
            chat.members.add(user_id)
        else:
            chat.admins.discard(user_id)

    def set_user_deactivated(self, user_id: int, deactivated: bool = True) -> None:
        """The account is deleted: the bot gets "Forbidden: user is deactivated"."""
        self.core.world.user(user_id).deactivated = deactivated

    def migrate_to_supergroup(self, chat_id: int, *, by_user_id: int | None = None) -> int:
        """Upgrade a basic group; returns the new supergroup's id."""
        supergroup = simulate.migrate_group(self.core, chat_id, by_user_id=by_user_id)
        self._poke()
        return supergroup.id

    def chat(self, chat_id: int) -> ChatRecord:
        return self.core.world.chat(chat_id)

    def user(self, user_id: int) -> UserRecord:
        return self.core.world.user(user_id)

    # -- people acting -------------------------------------------------------------

    def send_user_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any] | None:
        """The user writes `text`; returns the Update, or None if privacy mode hides it."""
        update = simulate.user_message(
            self.core, chat_id, user_id, text, thread_id=thread_id, reply_to=reply_to
        )
        self._poke()
        return update

    def send_user_document(
        self,
        chat_id: int,
        user_id: int,
        content: bytes,
        file_name: str,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any] | None:
        update = simulate.user_document(
            self.core,
            chat_id,
            user_id,
            content,
            file_name,
            mime_type=mime_type,
            caption=caption,
            thread_id=thread_id,
        )
        self._poke()
        return update

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str | None = None,
        *,
        index: int | tuple[int, int] | None = None,
        text: str | None = None,
        user_id: int | None = None,
        forged_data: str | None = None,
    ) -> str:
        """Press an inline button by its data, its flat index or (row, column), or its text;
        or, with `forged_data`, send any data at all, as a modified client could.

        Returns the callback query id, for `callback_answer`.
        """
        query_id = simulate.press_button(
            self.core,
            chat_id,
            message_id,
            callback_data,
            index=index,
            text=text,
            user_id=user_id,
            forged_data=forged_data,
        )
        self._poke()
        return query_id

    def inline_query(
        self, user_id: int, query: str, *, offset: str = "", chat_type: str | None = "sender"
    ) -> str:
        query_id = simulate.inline_query(
            self.core, user_id, query, offset=offset, chat_type=chat_type
        )
        self._poke()
        return query_id

    def channel_post(self, chat_id: int, text: str) -> dict[str, Any] | None:
        update = simulate.channel_post(self.core, chat_id, text)
        self._poke()
        return update

    def bot_membership_changed(
        self, chat_id: int, by_user_id: int, new_status: str
    ) -> dict[str, Any] | None:
        """member, administrator, left or kicked; in a private chat kicked means blocked."""
        update = simulate.bot_membership_changed(self.core, chat_id, by_user_id, new_status)
        self._poke()
        return update

    # -- reading back --------------------------------------------------------------

    def messages(self, chat_id: int, *, thread_id: int | None = None) -> list[MessageRecord]:
        """Every message now in the chat, oldest first: edits applied, deletions gone."""
        chat = self.core.world.chats.get(chat_id)
        if chat is None:
            return []
        found = list(chat.messages.values())
        if thread_id is not None:
            found = [m for m in found if m.thread_id == thread_id]
        return found

    def bot_messages(self, chat_id: int, *, thread_id: int | None = None) -> list[MessageRecord]:
        return [m for m in self.messages(chat_id, thread_id=thread_id) if m.from_bot]

    def message(self, chat_id: int, message_id: int) -> MessageRecord | None:
        chat = self.core.world.chats.get(chat_id)
        return None if chat is None else chat.messages.get(message_id)

    def callback_answer(self, query_id: str) -> CallbackQueryRecord:
        """The callback query; `.answered` tells whether answerCallbackQuery came."""
        return self.core.callback_queries[query_id]

    def inline_answer(self, query_id: str) -> InlineQueryRecord:
        return self.core.inline_queries[query_id]

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        scope = scope or {"type": "default"}
        kind = scope["type"]
        if kind == "chat_member":
            key = f"chat_member:{scope['chat_id']}:{scope['user_id']}"
        elif "chat_id" in scope:
            key = f"{kind}:{scope['chat_id']}"
        else:
            key = kind
        return list(self.core.commands.get((key, language_code), []))

    def file(self, file_id: str) -> FileRecord | None:
        return self.core.files.get(file_id)

    @property
    def requests(self) -> list[RequestRecord]:
        return list(self.core.journal.requests)

    def calls(self, method: str) -> list[RequestRecord]:
        """Logged requests of one method (case-insensitive)."""
        name = method.lower()
        return [r for r in self.core.journal.requests if r.method.lower() == name]

    @property
    def protocol_errors(self) -> list[ProtocolError]:
        return list(self.core.journal.protocol_errors)

    def take_protocol_errors(self) -> list[ProtocolError]:
        """Return and forget the protocol errors: for tests that provoke them on purpose."""
        errors = list(self.core.journal.protocol_errors)
        self.core.journal.protocol_errors.clear()
        return errors

    @property
    def webhook(self) -> WebhookConfig | None:
        return self.core.webhook.config

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now."""
        return self.core.updates.waiting > 0

    @property
    def pending_updates(self) -> int:
        return len(self.core.updates)

    @property
    def paid_messages(self) -> int:
        """Messages accepted with `allow_paid_broadcast` since the counters were reset."""
        return self.core.journal.paid_messages

    @property
    def stars_spent(self) -> float:
        """What those messages cost the bot, in Telegram Stars (0.1 each)."""
        return self.core.journal.stars_spent

    def stats(self) -> Stats:
        core = self.core
        journal = core.journal
        return Stats(
            requests=journal.total,
            by_method=dict(journal.by_method),
            delivered=journal.delivered,
            flood_429=journal.flood_429,
            paid_messages=journal.paid_messages,
            stars_spent=journal.stars_spent,
            faults=dict(core.faults.counts),
            faults_total=core.faults.total,
            protocol_errors=len(journal.protocol_errors),
            pending_updates=len(core.updates),
        )

    def reset_counters(self) -> None:
        """Forget the request log, protocol errors and counters (not the world)."""
        self.core.journal.clear()
        self.core.faults.counts.clear()

    def events(self) -> Subscription:
        """A live feed of what the bot does: `async for event in emulator.events()`."""
        return self.core.events.subscribe()

    # -- waiting -------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> T:
        """Wait until `predicate()` is truthy, re-checking after every request; return it."""
        condition = self.core.changed
        async with condition:
            try:
                async with asyncio.timeout(timeout):
                    result = await condition.wait_for(predicate)
            except TimeoutError:
                recent = [f"{r.method}->{r.status}" for r in list(self.core.journal.requests)[-8:]]
                raise TimeoutError(
                    f"condition not met within {timeout}s; last requests: {recent}"
                ) from None
        assert result is not None
        return result

    async def wait_for_bot_message(
        self,
        chat_id: int,
        predicate: Callable[[MessageRecord], bool] | None = None,
        *,
        thread_id: int | None = None,
        since: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> MessageRecord:
        """The next bot message in the chat (matching `predicate`, in `thread_id`).

        "Next" means newer than the message the previous call for this chat
        returned (or than global sequence number `since`), so consecutive calls
        walk through the bot's replies one by one.
        """
        after = self._cursors.get(chat_id, 0) if since is None else since

        def find() -> MessageRecord | None:
            chat = self.core.world.chats.get(chat_id)
            if chat is None:
                return None
            found: MessageRecord | None = None
            for message in reversed(chat.messages.values()):
                if message.seq <= after:
                    break
                if (
                    message.from_bot
                    and (thread_id is None or message.thread_id == thread_id)
                    and (predicate is None or predicate(message))
                ):
                    found = message
            return found

        message = await self.wait_for(find, timeout)
        self._cursors[chat_id] = max(message.seq, self._cursors.get(chat_id, 0))
        return message

    async def wait_for_request(
        self,
        method: str,
        predicate: Callable[[RequestRecord], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RequestRecord:
        """The first logged call of `method` matching `predicate`."""
        name = method.lower()

        def find() -> RequestRecord | None:
            for record in self.core.journal.requests:
                if record.method.lower() == name and (predicate is None or predicate(record)):
                    return record
            return None

        return await self.wait_for(find, timeout)

    async def wait_for_callback_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackQueryRecord:
        query = self.core.callback_queries[query_id]
        return await self.wait_for(lambda: query if query.answered else None, timeout)

    async def wait_for_inline_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InlineQueryRecord:
        query = self.core.inline_queries[query_id]
        return await self.wait_for(lambda: query if query.answered else None, timeout)

    def _poke(self) -> None:
        """Wake waiters after a change made from synchronous code."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.core.notify())
        self._pokes.add(task)
        task.add_done_callback(self._pokes.discard)


__all__ = ["DEFAULT_TOKEN", "Emulator", "EmulatorError", "Stats"]
