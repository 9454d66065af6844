"""The real bot with the admin tools installed, polling the emulator; an admin
and a reader already in it; a local HTTP server for feeds."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler

from bot import chat as chat_mode
from bot.config import Settings
from bot.emulator import Emulator
from bot.runtime import open_content
from bot.services import Services
from bot.store import chats
from tests.harness import Harness

ADMIN = 900_001
READER = 900_002
FIXTURES = Path(__file__).resolve().parents[1] / "ingest" / "fixtures"


@pytest.fixture
def admin_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "admin_ids": [ADMIN],
            "send_rate_per_second": 500.0,
            "feed_timeout_seconds": 0.5,
            "feed_max_bytes": 1_000_000,
            "feeds_path": tmp_path / "no-feeds.toml",
        }
    )


@asynccontextmanager
async def running(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    """The bot on its own store, with the admin and a Spanish-speaking reader."""
    for user_id, name, language in ((ADMIN, "Ada", "en"), (READER, "Rita", "es")):
        if user_id not in emulator.core.world.users:  # a second bot run in one test
            emulator.add_user(name, user_id=user_id, language_code=language)
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        async with chat_mode.bot_on_emulator(emulator, settings, services=services) as app:
            yield Harness(emulator, services, app)
    finally:
        await content.db.close()


@pytest.fixture
async def admin_harness(emulator: Emulator, admin_settings: Settings) -> AsyncIterator[Harness]:
    async with running(emulator, admin_settings) as harness:
        yield harness


@pytest.fixture
async def slow_admin_harness(
    emulator: Emulator, admin_settings: Settings
) -> AsyncIterator[Harness]:
    """Sending 25 messages a second: a broadcast lasts long enough to watch and stop."""
    slow = admin_settings.model_copy(update={"send_rate_per_second": 25.0})
    async with running(emulator, slow) as harness:
        yield harness


async def add_readers(
    services: Services,
    emulator: Emulator,
    count: int,
    *,
    first_id: int = 1_000_000,
    language: str = "en",
) -> list[int]:
    """`count` private chats known to the emulator and the store, as if each had
    sent /start (without the cost of a round trip each)."""
    ids = []
    for user_id in range(first_id, first_id + count):
        emulator.add_user(f"Reader {user_id}", user_id=user_id, language_code=language)
        await chats.save_chat(
            services.db, chat_id=user_id, type="private", title=None, now=services.now()
        )
        await chats.ensure_target(
            services.db, user_id, ui_language=language, timezone="UTC", now=services.now()
        )
        ids.append(user_id)
    return ids


@dataclass
class FeedServer:
    base: str
    requests: list[str]
    release: asyncio.Event

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A valid feed, an HTML page, a server that never answers, a 50 MB body."""
    routes = web.RouteTableDef()
    release = asyncio.Event()
    server = FeedServer("", [], release)

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        server.requests.append(request.path)
        return await handler(request)

    @routes.get("/feed.xml")
    async def feed(request: web.Request) -> web.Response:
        body = (FIXTURES / "rss20.xml").read_bytes()
        return web.Response(body=body, content_type="application/rss+xml")

    @routes.get("/page.html")
    async def page(request: web.Request) -> web.Response:
        body = (FIXTURES / "page.html").read_bytes()
        return web.Response(body=body, content_type="text/html")

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="<rss/>")

    @routes.get("/huge")
    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"<!-- padding -->" * 4096
        try:
            for _ in range(50_000_000 // len(chunk)):
                await response.write(chunk)
        except (ConnectionError, RuntimeError):
            pass  # the bot hung up, as it should
        return response

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        release.set()
        await runner.cleanup()
