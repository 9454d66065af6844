"""Running the bot for real: long polling by default, a webhook when configured.

Several bots may share one PostgreSQL store. On a webhook each serves the updates
the proxy in front hands it. Polling is the leader's alone (`bot.store.leader`):
Telegram answers a second getUpdates with 409 Conflict, so a bot on PostgreSQL
polls only while it leads (`poll_while_leading`). On SQLite the one bot leads from
the start and PTB's `run_polling` runs it, as always.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable
from typing import Any

from telegram import Update

from bot.config import Settings
from bot.telegram.app import App, build_application, running

log = logging.getLogger(__name__)

YOUNG_COLLECTION_EVERY = 10_000
"""Allocations between two collections of the garbage collector's youngest
generation (CPython's default is 700)."""


def settle_collector() -> None:
    """Once the bot is built: collect what start-up left, freeze the rest, and collect
    the youngest generation less often.

    Every request allocates dozens of tracked objects (PTB's and aiohttp's), and at
    the sender's ceiling (a paid broadcast, up to 1,000 messages a second) the
    collector took a fifth of the process's CPU: each full collection walked the
    ~90,000 objects of the imported modules and the Application, which live as long
    as the process, and the youngest generation was collected every 700
    allocations. Frozen, they are never walked again (garbage is collected first, so
    none is frozen); at 10,000 the young collections come 14 times less often, each
    walking more of the same short-lived objects. Objects freed by their reference
    count, nearly all of them, go at once as before."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, oldest)


def run(settings: Settings, token: str) -> None:
    """Block until stopped (Ctrl-C or SIGTERM)."""
    application = build_application(settings, token)
    settle_collector()
    if settings.webhook_url:
        # Only here: the web server (aiohttp.web) is a few MB a polling bot never uses.
        from bot.telegram.webhook import serve_webhook

        asyncio.run(serve_webhook(application, settings))
    elif settings.database.dialect == "postgresql":
        log.info("polling mode, while this bot leads the bots on its store")
        asyncio.run(_poll_replica(application))
    else:
        log.info("polling mode")
        application.run_polling(allowed_updates=Update.ALL_TYPES)


async def _poll_replica(application: App) -> None:
    """`run_polling` for one of several bots: the same start and stop (`running`), and
    the updater only while this bot leads, until SIGINT or SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still interrupts
            loop.add_signal_handler(signum, stopping.set)
    async with running(application):
        await poll_while_leading(application, stopping, allowed_updates=Update.ALL_TYPES)


async def poll_while_leading(application: App, stopping: asyncio.Event, **polling: Any) -> None:
    """Poll getUpdates (`Updater.start_polling(**polling)`) whenever this bot leads,
    stop when it stops leading, until `stopping` is set; in a running Application
    (`running`, whose lifespan starts the leadership). A poll the last leader still
    had waiting is the one Telegram ends with 409: the newer poll wins."""
    leadership = application.bot_data.services.leadership
    updater = application.updater
    if updater is None:
        raise RuntimeError("the Application has no updater to poll with")
    while await _unless_stopped(stopping, leadership.until_leading()):
        await updater.start_polling(**polling)
        log.info("polling: this bot leads")
        try:
            await _unless_stopped(stopping, leadership.until_following())
        finally:
            await updater.stop()
        if not stopping.is_set():
            log.info("polling stopped: another bot leads now")


async def _unless_stopped(stopping: asyncio.Event, wait: Awaitable[None]) -> bool:
    """Wait for `wait` or `stopping`, whichever comes first; False once stopping."""
    waiting = asyncio.ensure_future(wait)
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait((waiting, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiting, stopped):
            task.cancel()
        await asyncio.gather(waiting, stopped, return_exceptions=True)
    return not stopping.is_set()
