"""The repeating jobs: installed on PTB's JobQueue, and their bodies run with moved time."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from telegram.ext import ApplicationBuilder

from bot.digest.dispatch import reschedule
from bot.digest.jobs import DigestJobs
from bot.services import Services
from bot.store import feeds
from bot.store.chats import update_target
from bot.telegram.jobs import install_jobs
from tests.digest.helpers import add_article, add_target

NOW = 1_750_000_000
RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<item><title>Migrants cross the border</title><guid>g1</guid>"
    b"<link>https://news.example/1</link></item></channel></rss>"
)


@pytest.fixture
async def feed_url() -> AsyncIterator[str]:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=RSS, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/feed"
    finally:
        await runner.cleanup()


async def test_install_adds_the_repeating_jobs(services: Services) -> None:
    app = ApplicationBuilder().token("123456:TEST").build()
    jobs = install_jobs(app, services, interval=30.0, first=1.0)
    assert isinstance(jobs, DigestJobs)
    assert app.job_queue is not None
    names = sorted(job.name or "" for job in app.job_queue.jobs())
    assert names == ["digests-due", "digests-instant", "feeds-poll", "prune"]


async def test_the_jobs_run_on_the_job_queue(
    services: Services, tmp_path: Path, feed_url: str
) -> None:
    services.settings.feeds_path = tmp_path / "feeds.toml"
    services.settings.feeds_path.write_text(f'[[feed]]\nurl = "{feed_url}"\n', "utf-8")
    target = await add_target(services.db, 1, topics=["migration"], digest_mode="instant")
    app = ApplicationBuilder().token("123456:TEST").build()
    jobs = install_jobs(app, services, interval=0.2, first=0.02)
    assert app.job_queue is not None
    await app.job_queue.start()
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if await services.db.fetchval("SELECT count(*) FROM outbox"):
                break
    finally:
        await app.job_queue.stop(wait=False)
    assert jobs.feeds_synced
    [row] = await services.db.fetchall("SELECT target_id, request AS payload FROM outbox_requests")
    assert row["target_id"] == target.id
    assert "Migrants cross the border" in json.loads(row["payload"])["text"]


async def test_new_articles_from_a_poll_reach_instant_targets_in_the_same_run(
    services: Services, tmp_path: Path, feed_url: str
) -> None:
    services.settings.feeds_path = tmp_path / "none.toml"
    await feeds.add_feed(services.db, feed_url, now=NOW)
    await add_target(services.db, 1, topics=["migration"], digest_mode="instant")
    jobs = DigestJobs(services)
    report = await jobs.feeds(NOW)
    assert report is not None
    assert report.new_articles == 1
    assert await services.db.fetchval("SELECT count(*) FROM outbox") == 1
    assert await jobs.feeds(NOW + 60) is not None  # not due yet: nothing polled
    assert await services.db.fetchval("SELECT count(*) FROM outbox") == 1


async def test_a_daily_digest_through_the_job_body(services: Services) -> None:
    target = await add_target(services.db, 1, topics=["migration"])
    await update_target(services.db, target.id, next_digest_at=reschedule(target, NOW))
    await add_article(services.db, "Border deal signed", ["migration"])
    jobs = DigestJobs(services)
    for minute in range(0, 48 * 60, 30):
        await jobs.due(NOW + minute * 60)
        await jobs.instant(NOW + minute * 60)
    assert await services.db.fetchval("SELECT count(*) FROM outbox") == 1


async def test_a_failing_run_is_logged_not_raised(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = DigestJobs(services)
    await services.db.close()
    with caplog.at_level(logging.ERROR, logger="bot.digest.jobs"):
        assert await jobs.due(NOW) is None
        assert await jobs.instant(NOW) is None
        assert await jobs.feeds(NOW) is None
    assert [record.message.split(" (")[0] for record in caplog.records] == [
        "scheduled digests failed",
        "instant digests failed",
        "feed polling failed",
    ]
    assert all(record.exc_info for record in caplog.records)
