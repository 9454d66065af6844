"""Webhook mode: push each update to the bot by HTTP POST, like Telegram does.

Updates go out one at a time and in order; a failed push (connection error or
non-2xx answer) is recorded for getWebhookInfo and retried after
`retry_delay`, so no update is lost or reordered. Only loopback addresses are
accepted as webhook URLs: the emulator never talks to the outside world.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .errors import bad_request
from .updates import UpdateQueue

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(slots=True)
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0

    def info(self, pending: int) -> dict[str, Any]:
        data: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
            "max_connections": self.max_connections,
            "ip_address": "127.0.0.1",
        }
        if self.allowed_updates is not None:
            data["allowed_updates"] = self.allowed_updates
        if self.last_error_date is not None:
            data["last_error_date"] = self.last_error_date
            data["last_error_message"] = self.last_error_message
        return data


def check_webhook_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: invalid webhook URL specified")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise bad_request("bad webhook: the emulator only delivers to loopback addresses")
    return url


def check_secret_token(token: str | None) -> str | None:
    if token is None:
        return None
    if not 1 <= len(token) <= 256 or not set(token) <= _SECRET_CHARS:
        raise bad_request("secret token contains unallowed characters")
    return token


class WebhookPusher:
    def __init__(
        self,
        queue: UpdateQueue,
        retry_delay: float = 0.2,
        on_push: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.queue = queue
        self.retry_delay = retry_delay
        self._on_push = on_push
        self.config: WebhookConfig | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self.config is not None

    async def start(self, config: WebhookConfig) -> None:
        await self.stop()
        self.config = config
        self._task = asyncio.create_task(self._run(config), name="emulator-webhook")

    async def stop(self) -> None:
        self.config = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, config: WebhookConfig) -> None:
        headers = {SECRET_HEADER: config.secret_token} if config.secret_token else {}
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            while True:
                update = await self.queue.wait_pending()
                error = await self._push(session, config.url, update)
                if error is None:
                    config.delivered += 1
                    self.queue.ack(update["update_id"])
                else:
                    log.debug("webhook push failed: %s", error)
                    config.last_error_date = int(time.time())
                    config.last_error_message = error
                if self._on_push is not None:
                    await self._on_push()
                if error is not None:
                    await asyncio.sleep(self.retry_delay)

    @staticmethod
    async def _push(session: aiohttp.ClientSession, url: str, update: dict[str, Any]) -> str | None:
        try:
            async with session.post(url, json=update) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return f"Connection failed: {exc.__class__.__name__}"
