"""The webhook endpoint Telegram POSTs updates to when `WEBHOOK_URL` is set.

The URL is public, so anyone may POST to it. PTB's own webhook server (tornado)
compares the secret header with `!=` and buffers bodies up to tornado's 100 MB
default before looking at them; a 64 MiB forged update cost it half a gigabyte.
This small aiohttp server instead refuses a request without the right secret
before reading a byte of its body, compares the secret in constant time, and
cuts a body off past `MAX_BODY_BYTES` (Telegram's updates are a few kilobytes).
Accepted updates go to the Application's `update_queue`, the door long polling
uses too, so everything after it (admission, handlers) is the same in both modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from typing import Any
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.config import Settings
from bot.telegram.app import App, running

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are small (a message is at most 4,096 characters plus its metadata).
MAX_BODY_BYTES = 1024 * 1024
# Telegram keeps its connections open between updates; an idle one is closed after this.
KEEPALIVE_SECONDS = 75.0


def secret_matches(expected: bytes, given: str | None) -> bool:
    """Constant time, whatever the header holds (aiohttp hands non-ASCII bytes through)."""
    if given is None:
        return False
    return hmac.compare_digest(expected, given.encode("utf-8", "surrogatepass"))


class WebhookServer:
    """One POST route on `listen:port`; everything else is aiohttp's 404 or 405."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        *,
        path: str,
        secret: str,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        """Any Application: the server only hands it updates."""
        self._application = application
        self._path = "/" + path.strip("/")
        self._secret = secret.encode()
        self._max_body = max_body
        self._runner: web.AppRunner | None = None

    async def start(self, listen: str, port: int) -> None:
        app = web.Application(client_max_size=self._max_body)
        app.router.add_post(self._path, self._receive)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=KEEPALIVE_SECONDS,
            # A refused body is not drained for seconds: the connection closes at once.
            lingering_time=0.0,
            # Telegram sends plain JSON; a compressed body is refused, never inflated.
            auto_decompress=False,
            shutdown_timeout=5.0,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, listen, port).start()

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        if not secret_matches(self._secret, request.headers.get(SECRET_HEADER)):
            log.debug("webhook: refused a request without the right secret")
            return _refusal(web.HTTPForbidden.status_code)
        if request.headers.get(hdrs.CONTENT_ENCODING, "identity").lower() != "identity":
            return _refusal(web.HTTPUnsupportedMediaType.status_code)
        length = request.content_length
        if length is not None and length > self._max_body:
            return _refusal(web.HTTPRequestEntityTooLarge.status_code)
        try:
            body = await request.read()  # stops as soon as a chunked body passes the cap
        except web.HTTPRequestEntityTooLarge:
            return _refusal(web.HTTPRequestEntityTooLarge.status_code)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return _refusal(web.HTTPBadRequest.status_code)
        if not isinstance(data, dict):
            return _refusal(web.HTTPBadRequest.status_code)
        bot = self._application.bot
        try:
            update = Update.de_json(data, bot)
        except Exception:  # any shape PTB cannot read is the sender's fault, not a crash
            log.warning("webhook: an update that could not be read was refused")
            return _refusal(web.HTTPBadRequest.status_code)
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)
        await self._application.update_queue.put(update)
        return web.Response()


def _refusal(status: int) -> web.Response:
    """An error that also closes the connection: its body may be unread, so the client
    must not send its next request down the same one."""
    response = web.Response(status=status)
    response.force_close()
    return response


async def serve_webhook(application: App, settings: Settings) -> None:
    """Run the bot on its webhook until SIGINT or SIGTERM, with the same start and stop
    as long polling (`running`: the one lifespan)."""
    assert settings.webhook_url is not None
    assert settings.webhook_secret is not None  # Settings requires one with a webhook URL
    secret = settings.webhook_secret.get_secret_value()
    server = WebhookServer(application, path=urlsplit(settings.webhook_url).path, secret=secret)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still interrupts
            loop.add_signal_handler(signum, stopping.set)
    async with running(application):
        try:
            await server.start(settings.webhook_listen, settings.webhook_port)
            await application.bot.set_webhook(
                url=settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )
            log.info("webhook mode on %s:%d", settings.webhook_listen, settings.webhook_port)
            await stopping.wait()
        finally:
            await server.stop()
