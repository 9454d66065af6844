"""Running the bot for real: long polling by default, a webhook when configured."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from telegram import Update

from bot.config import Settings
from bot.telegram.app import build_application

log = logging.getLogger(__name__)


def run(settings: Settings, token: str) -> None:
    """Block until stopped (Ctrl-C or SIGTERM); PTB handles the signals."""
    application = build_application(settings, token)
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        path = urlsplit(settings.webhook_url).path.lstrip("/")
        log.info("webhook mode on %s:%d", settings.webhook_listen, settings.webhook_port)
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        log.info("polling mode")
        application.run_polling(allowed_updates=Update.ALL_TYPES)
