"""The Application, built in one place: handlers, rate limiter, lifespan, jobs.

`lifespan` is the one start and stop of the bot: the instance lock, the store,
the menus, the leadership, the sender and the jobs, closed in reverse. Long polling
enters it from PTB's `post_init` and leaves it from `post_stop`; the webhook server,
the local chat mode and the tests enter it through `running`, so every way of
running the Application starts and stops the same.

The sender and the jobs are the leader's duties (`LeaderDuties`): on SQLite the one
bot leads from the start and they start with it, as they always did; on PostgreSQL
the bot that holds the store's leader lock runs them (`bot.store.leader`), and a bot
takes them up or puts them down as it gains or loses the lead.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

import certifi
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    ChatMemberHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

import bot.gauges as gauges
from bot.config import Settings
from bot.delivery.limits import Limits
from bot.delivery.ratelimiter import TelegramRateLimiter, opt_in_to_timedelta
from bot.delivery.sender import OutboxSender
from bot.runtime import open_content
from bot.services import Services
from bot.store.leader import FOLLOWER_RETRY_SECONDS, Leadership
from bot.store.lock import InstanceLock
from bot.telegram.admission import AdmissionProcessor
from bot.telegram.commands import add_command_handlers, set_menus
from bot.telegram.context import CONTEXT_TYPES, App
from bot.telegram.handlers import (
    errors,
    inline,
    membership,
    reader,
)
from bot.telegram.handlers.admin import add_admin_handlers
from bot.telegram.handlers.buttons import add_button_handlers
from bot.telegram.jobs import install_jobs, remove_jobs

if TYPE_CHECKING:
    from bot.delivery.relay import RelayServer

log = logging.getLogger(__name__)

__all__ = ["App", "LeaderDuties", "build_application", "lifespan", "running"]


def file_url(base_url: str) -> str:
    """Telegram serves files under /file/bot<token>/ next to /bot<token>/."""
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


def build_application(
    settings_: Settings,
    token: str,
    *,
    services: Services | None = None,
    limits: Limits | None = None,
    request: BaseRequest | None = None,
) -> App:
    """The configured Application; `services` may be given (tests), else opened at start.

    `request` carries the bot's own requests (replies, the sender); by default see
    `bot_request`. getUpdates keeps PTB's httpx client."""
    opt_in_to_timedelta()
    tls = ssl.create_default_context(cafile=certifi.where())  # what httpx would load
    limiter = TelegramRateLimiter(
        limits
        or Limits(
            rate_per_second=settings_.send_rate_per_second,
            paid_rate_per_second=settings_.paid_broadcast_rate,
        )
    )
    application: App = (
        ApplicationBuilder()
        .token(token)
        .request(request or bot_request(settings_, tls))
        .get_updates_request(updates_request(tls))
        .base_url(settings_.telegram_base_url)
        .base_file_url(file_url(settings_.telegram_base_url))
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .rate_limiter(limiter)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(AdmissionProcessor(default_language=settings_.default_language))
        .post_init(_enter)
        .post_stop(_leave)
        .post_shutdown(_leave)
        .build()
    )
    application.bot_data.configure(settings_, services)
    add_handlers(application)
    add_admin_handlers(application)
    return application


def bot_request(settings_: Settings, tls: ssl.SSLContext) -> BaseRequest:
    """aiohttp when paid broadcasts may send up to 1,000 messages a second, which PTB's
    httpx client cannot carry (bot/telegram/request.py); otherwise httpx, already
    imported by PTB, carries Telegram's free 30 a second many times over, and the bot
    idles without aiohttp's ~9 MB."""
    if settings_.paid_broadcast_rate > 0:
        from bot.telegram.request import AiohttpRequest

        return AiohttpRequest()
    return HTTPXRequest(connection_pool_size=256, httpx_kwargs={"verify": tls})


def updates_request(tls: ssl.SSLContext) -> BaseRequest:
    """getUpdates' own client, as PTB builds it (one connection), sharing `tls`: each
    client loading the CA bundle into a context of its own costs about 1.5 MB."""
    return HTTPXRequest(connection_pool_size=1, httpx_kwargs={"verify": tls})


def add_handlers(application: App) -> None:
    """The commands (bot/telegram/commands.py), the buttons (handlers/buttons.py),
    then what is neither."""
    add_command_handlers(application)
    add_button_handlers(application)
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(
        ChatMemberHandler(membership.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, reader.plain_text
        )
    )
    unknown = filters.COMMAND & filters.UpdateType.MESSAGES
    application.add_handler(MessageHandler(unknown, reader.unknown_command))
    application.add_error_handler(errors.on_error)


@asynccontextmanager
async def lifespan(application: App) -> AsyncIterator[None]:
    """The bot's start and stop, once for every way of running it (call it after
    `application.initialize()`, leave it before `application.shutdown()`): one bot
    per database, its store (unless the services were given), its menus, its sender
    and its jobs; closed in reverse, however far the start got."""
    bot_data = application.bot_data
    given = bot_data.services if bot_data.started else None
    database = given.db.location if given is not None else bot_data.settings.database
    async with AsyncExitStack() as stack:
        # Before the store opens: a second bot must neither migrate nor seed the first's
        # file. Several bots on one PostgreSQL store are the point of it (README, Scaling out).
        if database.path is not None:
            stack.callback(InstanceLock.acquire(database.path).release)
        services = given
        if services is None:
            content = await open_content(bot_data.settings)
            stack.push_async_callback(content.db.close)
            services = Services(bot_data.settings, content.db, content.catalogue)
            bot_data.attach(services)
            stack.callback(bot_data.attach, None)
        await set_menus(application, services.settings.admin_ids)
        if services.settings.metrics_address:
            # Only then: the server is aiohttp, which a bot without it never loads.
            from bot.telegram.ops import serve_ops

            address = services.settings.metrics_address
            stack.push_async_callback(await serve_ops(address, services, application.bot))
            # The gauges read from the database (the outbox's depth scans what is
            # unfinished): only for a server that shows them.
            await stack.enter_async_context(gauges.refreshing(services))
        leadership = services.leadership
        await leadership.start()
        # Left last: the duties are put down before another bot may take them up.
        stack.push_async_callback(leadership.stop)
        if not leadership.sole:
            stack.push_async_callback(services.notices.close)
            limiter = application.bot.rate_limiter
            if isinstance(limiter, TelegramRateLimiter):
                # While this bot follows, its messages go out through the leader's limiter.
                from bot.delivery.relay import relaying

                await stack.enter_async_context(
                    relaying(limiter, services.db, services.notices, leadership)
                )
        duties = LeaderDuties(application, services)
        stack.push_async_callback(duties.stop)
        if leadership.leading:  # SQLite: always, at once, as before there was a leader
            await duties.start()
        if not leadership.sole:
            following = asyncio.create_task(_follow(leadership, duties), name="leader-duties")
            stack.push_async_callback(_cancel, following)
        yield


class LeaderDuties:
    """What only the leading bot runs: the outbox sender, woken by every bot's
    doorbell, the relay that sends the other bots' messages (on PostgreSQL,
    `bot.delivery.relay`) and the repeating jobs (unless the services leave them
    to a test)."""

    def __init__(self, application: App, services: Services) -> None:
        self.application = application
        self.services = services
        self._sender: OutboxSender | None = None
        self._relay: RelayServer | None = None
        self._unlisten: Callable[[], Awaitable[None]] | None = None
        self._jobs = False

    @property
    def running(self) -> bool:
        return self._sender is not None

    async def start(self) -> None:
        if self._sender is not None:
            return
        sender = self._sender = OutboxSender(self.services.db, self.application.bot)
        await sender.start()
        self.application.bot_data.sender = sender
        self._unlisten = await self.services.doorbell.listen_everywhere(sender.wake)
        if not self.services.leadership.sole:
            from bot.delivery.relay import RelayServer

            relay = self._relay = RelayServer(
                self.services.db, self.application.bot, self.services.notices
            )
            await relay.start()
        if self.services.run_jobs:
            install_jobs(self.application, self.services)
            self._jobs = True

    async def stop(self) -> None:
        """In reverse, however far `start` got. The sender lets its sends in flight
        finish while the bot can still make requests."""
        sender, self._sender = self._sender, None
        if self._jobs:
            remove_jobs(self.application)
            self._jobs = False
        unlisten, self._unlisten = self._unlisten, None
        if unlisten is not None:
            await unlisten()
        relay, self._relay = self._relay, None
        if relay is not None:
            await relay.stop()
        if sender is not None:
            await sender.stop()
        self.application.bot_data.sender = None


async def _follow(leadership: Leadership, duties: LeaderDuties) -> None:
    """Take the duties up each time this bot leads, put them down each time it stops
    (PostgreSQL). A start that fails is tried again while the bot still leads."""
    while True:
        if not leadership.leading:
            if duties.running:
                log.info("no longer leading: the sender and the jobs stop")
                await _put_down(duties)
            await leadership.until_leading()
            continue
        try:
            await duties.start()
        except Exception:
            log.exception("the leader's duties did not start; trying again shortly")
            await _put_down(duties)
            await asyncio.sleep(FOLLOWER_RETRY_SECONDS)
            continue
        await leadership.until_following()


async def _put_down(duties: LeaderDuties) -> None:
    try:
        await duties.stop()
    except Exception:
        log.exception("the leader's duties did not stop cleanly")


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@asynccontextmanager
async def running(application: App) -> AsyncIterator[App]:
    """The Application initialised, in its lifespan and started, as `run_polling`
    has it around its updater (whose start and stop are the caller's); and the
    reverse on leaving."""
    await application.initialize()
    try:
        async with lifespan(application):
            await application.start()
            try:
                yield application
            finally:
                if application.running:
                    await application.stop()
    finally:
        await application.shutdown()


async def _enter(application: App) -> None:
    """PTB's `post_init` (long polling): enter the lifespan."""
    stack = AsyncExitStack()
    await stack.enter_async_context(lifespan(application))
    application.bot_data.closing = stack


async def _leave(application: App) -> None:
    """PTB's `post_stop`, and `post_shutdown` when a start failed after `post_init`:
    leave the lifespan, once."""
    stack, application.bot_data.closing = application.bot_data.closing, None
    if stack is not None:
        await stack.aclose()
