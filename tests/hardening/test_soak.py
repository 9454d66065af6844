"""Thirty minutes of use compressed into seconds: readers searching and
subscribing, feeds growing, failing and recovering, digests going out, with
Telegram faults injected. Afterwards: no error logged, no outbox row left
behind or lost, memory flat."""

from __future__ import annotations

import logging
import random
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.delivery.limits import Limits
from bot.digest.jobs import DigestJobs
from bot.emulator import Emulator, FaultPlan
from bot.runtime import open_content
from bot.services import Services
from bot.store import feeds
from tests.harness import Harness

START = 1_767_000_000  # a fixed moment, moved by the test
MINUTES = 30
ACTIONS = (
    "/search {word}",
    "{word}",
    "/latest",
    "/topics",
    "/subscribe {topic}",
    "/unsubscribe {topic}",
    "/settings digest {mode}",
    "/mysubs",
    "/digest",
)
WORDS = (
    "migrants",
    "juarez",
    "femicide",
    "students",
    "history",
    "mexico",
    '"ciudad juarez"',
    "femi*",
)
MODES = ("instant", "daily", "instant", "off")


class Feeds:
    """A news site that publishes every minute, and a flaky one that is down for a while."""

    def __init__(self) -> None:
        self.minute = 0
        self.base = ""

    def rss(self, prefix: str) -> bytes:
        items = "".join(
            f"<item><title>{prefix} report {n} on migrants and students</title>"
            f"<link>https://news.example/{prefix}/{n}</link><guid>{prefix}-{n}</guid>"
            f"<description>Minute {n}: history and femicide coverage.</description></item>"
            for n in range(max(0, self.minute - 10), self.minute + 1)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{prefix}</title>{items}</channel></rss>"
        ).encode()

    def app(self) -> web.Application:
        async def news(request: web.Request) -> web.Response:
            return web.Response(body=self.rss("News"), content_type="application/rss+xml")

        async def flaky(request: web.Request) -> web.Response:
            if 5 <= self.minute <= 15:
                return web.Response(status=503, text="down")
            return web.Response(body=self.rss("Flaky"), content_type="application/rss+xml")

        app = web.Application()
        app.router.add_get("/news", news)
        app.router.add_get("/flaky", flaky)
        return app


async def _broadcast(harness: Harness, admin_id: int, text: str) -> None:
    """The admin announces to every active chat: preview, then Send."""
    preview = await harness.say(admin_id, admin_id, f"/broadcast {text}")
    while not any(data.startswith("ab:c:") for data in preview.callback_data):
        preview = await harness.emulator.wait_for_bot_message(admin_id)
    confirm = next(data for data in preview.callback_data if data.startswith("ab:c:"))
    query_id = harness.emulator.press_button(admin_id, preview.message_id, confirm)
    await harness.emulator.wait_for_callback_answer(query_id)


@pytest.fixture
async def site() -> AsyncIterator[Feeds]:
    feeds_site = Feeds()
    runner = web.AppRunner(feeds_site.app())
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    feeds_site.base = f"http://127.0.0.1:{port}"
    yield feeds_site
    await runner.cleanup()


async def test_thirty_minutes_of_use(
    emulator: Emulator, settings: Settings, site: Feeds, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.fault_plan = FaultPlan(seed=9, rate_429=0.03, retry_after=(1, 1), rate_5xx=0.02)
    now = [float(START)]
    admin_id = 7_000_001
    configured = settings.model_copy(
        update={"feed_poll_minutes": 1, "feed_timeout_seconds": 5.0, "admin_ids": [admin_id]}
    )
    emulator.add_user("Editor", user_id=admin_id)
    content = await open_content(configured)
    services = Services(
        configured, content.db, content.catalogue, clock=lambda: now[0], run_jobs=False
    )
    rng = random.Random(2026)
    quick = Limits(rate_per_second=300, private_interval=0.0, group_interval=0.0)
    try:
        for path in ("/news", "/flaky"):
            await feeds.add_feed(services.db, site.base + path, now=START)
        async with bot_on_emulator(emulator, configured, services=services, limits=quick) as app:
            harness = Harness(emulator, services, app)
            jobs = DigestJobs(services)
            users = [
                emulator.add_user(f"Reader {n}", language_code=rng.choice(["en", "es"]))
                for n in range(12)
            ]
            slugs = [topic.slug for topic in services.catalogue.topics]
            tracemalloc.start()
            baseline = 0
            with caplog.at_level(logging.WARNING):
                for minute in range(MINUTES):
                    site.minute = minute
                    now[0] = START + minute * 60 + 1
                    for user in rng.sample(users, 4):
                        action = rng.choice(ACTIONS).format(
                            word=rng.choice(WORDS), topic=rng.choice(slugs), mode=rng.choice(MODES)
                        )
                        if action == "/digest":  # its answer, if any, comes through the outbox
                            emulator.send_user_message(user.id, user.id, action)
                        else:
                            await harness.say(user.id, user.id, action)
                    if minute == 15:
                        await _broadcast(harness, admin_id, "Soak announcement")
                    await jobs.feeds(int(now[0]))
                    await jobs.instant(int(now[0]))
                    await jobs.due(int(now[0]))
                    if minute == 10:
                        baseline = tracemalloc.get_traced_memory()[0]
                await harness.sender.wait_empty()
            grown = tracemalloc.get_traced_memory()[0] - baseline
            tracemalloc.stop()
        for user in users:  # every reader had written to the bot by minute 15
            copies = [m for m in emulator.bot_messages(user.id) if m.text == "Soak announcement"]
            assert len(copies) == 1, user.id
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors == [], [r.getMessage() for r in errors]
        rows = await services.db.fetchall("SELECT state, count(*) FROM outbox GROUP BY state")
        states: dict[str, int] = {row[0]: row[1] for row in rows}
        assert set(states) <= {"sent"}, states
        assert states.get("sent", 0) > 0
        assert emulator.stats().faults_total > 0
        flaky = await feeds.find_feed(services.db, site.base + "/flaky")
        assert flaky is not None
        assert flaky.failure_count == 0, "the flaky feed recovered by itself"
        assert grown < 8 * 1024 * 1024, f"memory grew by {grown / 1e6:.1f} MB over 20 minutes"
    finally:
        await content.db.close()
