"""The Application, built in one place: handlers, rate limiter, lifecycle, jobs.

The store opens in `post_init` and closes in `post_shutdown`, so whatever
runs the Application (polling, webhook, the local chat mode, tests) gets the
same start and stop.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

import certifi
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ChatMemberHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Settings
from bot.delivery.limits import Limits
from bot.delivery.ratelimiter import TelegramRateLimiter, opt_in_to_timedelta
from bot.delivery.sender import OutboxSender
from bot.digest.jobs import install_jobs
from bot.runtime import open_content
from bot.services import Services
from bot.store.lock import InstanceLock
from bot.telegram.admission import AdmissionProcessor
from bot.telegram.commands import add_command_handlers, set_menus
from bot.telegram.handlers import (
    errors,
    inline,
    membership,
    reader,
)
from bot.telegram.handlers.admin import add_admin_handlers
from bot.telegram.handlers.buttons import add_button_handlers
from bot.telegram.services import attach

log = logging.getLogger(__name__)

LOCK_KEY = "instance_lock"

App = Application[Any, Any, Any, Any, Any, Any]


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
        .concurrent_updates(AdmissionProcessor(default_language=settings_.default_language))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data["settings"] = settings_
    if services is not None:
        attach(application, services)
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


async def _post_init(application: App) -> None:
    """Start the bot: one bot per database, its store, its sender and its jobs."""
    given = application.bot_data.get("services")
    database = (
        given.db.path if given is not None else application.bot_data["settings"].database_path
    )
    # Before the store opens: a second bot must neither migrate nor seed the first's database.
    application.bot_data[LOCK_KEY] = InstanceLock.acquire(database)
    try:
        await _start(application)
    except BaseException:
        started: Services | None = application.bot_data.get("services")
        if started is not None and started.sender is not None:
            await started.sender.stop(grace=0)
        await _post_shutdown(application)
        raise


async def _start(application: App) -> None:
    if "services" not in application.bot_data:
        content = await open_content(application.bot_data["settings"])
        services = Services(application.bot_data["settings"], content.db, content.catalogue)
        services.owns_db = True
        attach(application, services)
    services = services_of_app(application)
    services.bot_username = application.bot.username
    await set_menus(application, services.settings.admin_ids)
    services.sender = OutboxSender(services.db, application.bot)
    await services.sender.start()
    if services.run_jobs:
        install_jobs(application, services)


async def _post_stop(application: App) -> None:
    """Let in-flight sends finish while the bot can still make requests."""
    services = services_of_app(application)
    if services.sender is not None:
        await services.sender.stop()


async def _post_shutdown(application: App) -> None:
    """Close what `_post_init` opened, however far it got (PTB calls this even when
    `post_init` failed)."""
    services: Services | None = application.bot_data.get("services")
    if services is not None and services.owns_db:
        await services.db.close()
    lock: InstanceLock | None = application.bot_data.pop(LOCK_KEY, None)
    if lock is not None:
        lock.release()


def services_of_app(application: App) -> Services:
    found: Services = application.bot_data["services"]
    return found
