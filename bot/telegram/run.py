"""Running the bot for real: long polling by default, a webhook when configured."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.config import Settings
from bot.telegram.app import build_application

log = logging.getLogger(__name__)


def run(settings: Settings, token: str) -> None:
    """Block until stopped (Ctrl-C or SIGTERM)."""
    application = build_application(settings, token)
    if settings.webhook_url:
        # Only here: the web server (aiohttp.web) is a few MB a polling bot never uses.
        from bot.telegram.webhook import serve_webhook

        asyncio.run(serve_webhook(application, settings))
    else:
        log.info("polling mode")
        application.run_polling(allowed_updates=Update.ALL_TYPES)
