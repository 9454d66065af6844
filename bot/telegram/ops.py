"""The operations server on `METRICS_ADDRESS`: /metrics, /healthz and /readyz.

Prometheus scrapes /metrics (`bot.metrics.REGISTRY`, in the text format or
OpenMetrics as the scraper's Accept header asks). A supervisor probes the other
two: /healthz answers 200 whenever the process and its event loop do (restart
the bot when it stops answering); /readyz answers 200 only when the bot can do
its work, else 503, with a JSON body naming each check and what is wrong:

- ``database``: one row written and committed through the store's one writer
  within `DATABASE_PROBE_SECONDS` (a read-only file, a full disk, a writer stuck);
- ``bot_api``: a getMe answered within `API_PROBE_SECONDS`. Asking is the one
  test that holds in both modes: a quiet bot on a webhook gets no updates and
  makes no requests, and is not unready for that. Probes at the same moment
  share one getMe, and an answer is reused for `API_REUSE_SECONDS`, so however
  often /readyz is asked Telegram sees at most one getMe a second;
- ``sender``: the outbox is moving. A message due for longer than
  `SENDER_STUCK_SECONDS` while nothing was delivered for as long means the sender
  is stuck (or Telegram holds it back with 429s). A long broadcast is not: its
  last copies wait their turn at 30 a second, but messages keep leaving.

The server is aiohttp, which the webhook already uses; it is imported only when
`METRICS_ADDRESS` is set (the lifespan imports this module then), so a bot
without it does not load aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.config import address_parts
from bot.metrics import REGISTRY
from bot.services import Services
from bot.store import outbox
from bot.store.db import Database, StoreError

log = logging.getLogger(__name__)

API_PROBE_SECONDS: Final = 3.0
"""How long a getMe may take before the Bot API counts as unreachable."""
API_REUSE_SECONDS: Final = 1.0
"""How long a getMe's answer stands for the probes after it."""
DATABASE_PROBE_SECONDS: Final = 3.0
"""How long the probe's write may wait for the writer."""
SENDER_STUCK_SECONDS: Final = 300.0
"""How long a due message may wait, with nothing delivered meanwhile, before the
sender counts as stuck."""


@dataclass
class Readiness:
    """The checks behind /readyz: each returns None when all is well, else what is wrong."""

    db: Database
    bot: ExtBot[Any]
    clock: Callable[[], float]
    """Wall-clock seconds, as the outbox's times are written (`Services.clock`)."""
    api_timeout: float = API_PROBE_SECONDS
    db_timeout: float = DATABASE_PROBE_SECONDS
    stuck_after: float = SENDER_STUCK_SECONDS

    def __post_init__(self) -> None:
        self._api_probe: asyncio.Task[str | None] | None = None
        self._api_answered_at: float | None = None  # event-loop time

    async def check(self) -> dict[str, str | None]:
        """Every check, at the same time."""
        names = ("database", "bot_api", "sender")
        problems = await asyncio.gather(self.database(), self.bot_api(), self.sender())
        return dict(zip(names, problems, strict=True))

    async def database(self) -> str | None:
        try:
            async with asyncio.timeout(self.db_timeout):
                await self.db.check_writable()
        except TimeoutError:
            return f"no write went through within {self.db_timeout:g} s"
        except StoreError as exc:
            return str(exc)
        return None

    async def bot_api(self) -> str | None:
        now = asyncio.get_running_loop().time()
        answered = self._api_answered_at
        if answered is not None and now - answered < API_REUSE_SECONDS:
            return None
        if self._api_probe is None or self._api_probe.done():
            self._api_probe = asyncio.create_task(self._get_me(), name="readyz-getMe")
        # A probe whose client went away leaves the shared getMe to the others.
        return await asyncio.shield(self._api_probe)

    async def _get_me(self) -> str | None:
        try:
            async with asyncio.timeout(self.api_timeout):
                await self.bot.get_me()
        except TimeoutError:
            return f"getMe got no answer within {self.api_timeout:g} s"
        except TelegramError as exc:
            return f"getMe failed: {exc.message or type(exc).__name__}"
        self._api_answered_at = asyncio.get_running_loop().time()
        return None

    async def sender(self) -> str | None:
        now = self.clock()
        queued = [
            oldest
            for _, oldest in (await outbox.backlog(self.db, now)).values()
            if oldest is not None
        ]
        if not queued:
            return None
        waiting = now - min(queued)
        if waiting <= self.stuck_after:
            return None
        delivered = await outbox.last_delivered(self.db)
        if delivered is not None and now - delivered <= self.stuck_after:
            return None
        return (
            f"a message has been due for {waiting:.0f} s and nothing was delivered "
            f"for more than {self.stuck_after:g} s"
        )


class OpsServer:
    """GET /metrics, /healthz and /readyz on one address; anything else is a 404."""

    def __init__(self, readiness: Readiness, registry: CollectorRegistry) -> None:
        self.readiness = readiness
        self._registry = registry
        self._reported: dict[str, str] = {}  # what was wrong at the last probe
        self._runner: web.AppRunner | None = None

    async def start(self, address: str) -> None:
        host, port = address_parts(address)
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("operations server on %s (/metrics, /healthz, /readyz)", address)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(self._registry), headers={"Content-Type": content_type})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _readyz(self, request: web.Request) -> web.Response:
        problems = await self.readiness.check()
        ready = all(problem is None for problem in problems.values())
        body = {
            "ok": ready,
            "checks": {
                name: {"ok": True} if problem is None else {"ok": False, "error": problem}
                for name, problem in problems.items()
            },
        }
        self._report({name: problem for name, problem in problems.items() if problem})
        return web.json_response(body, status=200 if ready else 503)

    def _report(self, problems: dict[str, str]) -> None:
        """Log what changed, not every probe: a supervisor asks every few seconds."""
        if problems == self._reported:
            return
        if problems:
            log.warning(
                "not ready: %s", "; ".join(f"{name}: {what}" for name, what in problems.items())
            )
        else:
            log.info("ready again")
        self._reported = problems


async def serve_ops(
    address: str, services: Services, bot: ExtBot[Any]
) -> Callable[[], Awaitable[None]]:
    """The server listening on `address` (the lifespan's); returns its stop."""
    server = OpsServer(Readiness(services.db, bot, services.clock), REGISTRY)
    await server.start(address)
    return server.stop
