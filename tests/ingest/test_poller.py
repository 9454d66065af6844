"""Polling feeds from a real HTTP server on 127.0.0.1, with time moved explicitly."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

import bot.gauges as gauges
import bot.metrics as metrics
from bot.config import Settings
from bot.ingest.entry import SourceError
from bot.ingest.poller import BACKOFF_CAP, poll_due, read_feed_file, sync_feeds
from bot.services import Services
from bot.store import feeds
from bot.store.db import Database
from bot.store.feeds import FAILING_AFTER, Feed
from bot.topics import Catalogue
from tests.digest.helpers import add_target

T0 = 1_750_000_000
MINUTE = 60


def rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>https://news.example/{guid}</link>"
        f"<guid>{guid}</guid><description>About {title}</description></item>"
        for guid, title in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Test News</title><language>en</language>{body}</channel></rss>"
    ).encode()


@dataclass
class Site:
    base: str = ""
    items: list[tuple[str, str]] = field(
        default_factory=lambda: [("a1", "Migrants at the border"), ("a2", "Student strike")]
    )
    version: int = 1
    flaky_status: int = 500
    hits: dict[str, list[str | None]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path


def make_app(site: Site) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/good")
    async def good(request: web.Request) -> web.Response:
        etag = f'"v{site.version}"'
        site.hits.setdefault("good", []).append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=rss(site.items), headers={"ETag": etag, "Content-Type": "application/rss+xml"}
        )

    @routes.get("/flaky")
    async def flaky(request: web.Request) -> web.Response:
        site.hits.setdefault("flaky", []).append(None)
        if site.flaky_status != 200:
            return web.Response(status=site.flaky_status, text="down")
        return web.Response(body=rss([("f1", "Back online")]), content_type="application/rss+xml")

    @routes.get("/hang")
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.Response(text="late")

    @routes.get("/huge")
    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        try:
            for _ in range(800):  # 50 MB in 64 KiB chunks
                await response.write(b"<!-- pad -->" * 5_461)
        except (ConnectionError, RuntimeError):
            pass
        return response

    @routes.get("/invalid")
    async def invalid(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Not a feed</body></html>", content_type="text/html")

    app = web.Application()
    app.add_routes(routes)
    return app


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site()
    runner = web.AppRunner(make_app(state), shutdown_timeout=0.1, handler_cancellation=True)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    host, port = runner.addresses[0][:2]
    state.base = f"http://{host}:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
def services(settings: Settings, db: Database, catalogue: Catalogue) -> Services:
    settings.feed_timeout_seconds = 1.0
    settings.feed_max_bytes = 500_000
    settings.admin_ids = [111, 222]
    return Services(settings=settings, db=db, catalogue=catalogue)


async def feed_state(services: Services, feed: Feed) -> Feed:
    found = await feeds.get_feed(services.db, feed.id)
    assert found is not None
    return found


async def notices(services: Services) -> list[tuple[int, str]]:
    rows = await services.db.fetchall(
        "SELECT chat_id, payload FROM outbox WHERE kind = 'notice' ORDER BY id"
    )
    return [(row[0], json.loads(row[1])["text"]) for row in rows]


async def test_new_entries_are_stored_and_unchanged_feeds_cost_a_304(
    services: Services, site: Site
) -> None:
    feed, _ = await feeds.add_feed(services.db, site.url("/good"), now=T0)
    report = await poll_due(services, T0, rng=random.Random(1))
    assert (report.polled, report.failed, report.new_articles) == (1, 0, 2)
    stored = await services.db.fetchall("SELECT title, feed_id, language FROM articles")
    assert {(row[0], row[1], row[2]) for row in stored} == {
        ("Migrants at the border", feed.id, "en"),
        ("Student strike", feed.id, "en"),
    }
    state = await feed_state(services, feed)
    assert state.etag == '"v1"'
    assert state.title == "Test News"
    assert T0 + 15 * MINUTE <= state.next_poll_at <= T0 + 15 * MINUTE * 1.1
    # Not due yet: nothing is fetched.
    assert (await poll_due(services, state.next_poll_at - 1)).polled == 0
    report = await poll_due(services, state.next_poll_at)
    assert (report.polled, report.not_modified, report.new_articles) == (1, 1, 0)
    assert site.hits["good"] == [None, '"v1"']
    # The feed changes: only the new entry is new.
    site.items.insert(0, ("a3", "Asylum ruling"))
    site.version = 2
    state = await feed_state(services, feed)
    report = await poll_due(services, state.next_poll_at)
    assert report.new_articles == 1
    assert (await feed_state(services, feed)).etag == '"v2"'


async def test_a_feed_interval_override_applies(services: Services, site: Site) -> None:
    feed, _ = await feeds.add_feed(services.db, site.url("/good"), now=T0, poll_minutes=120)
    await poll_due(services, T0)
    next_at = (await feed_state(services, feed)).next_poll_at
    assert T0 + 120 * MINUTE <= next_at <= T0 + 132 * MINUTE


async def test_bad_feeds_do_not_hold_up_or_break_the_others(services: Services, site: Site) -> None:
    services.settings.feed_concurrency = 2
    bad = {}
    for path in ("/hang", "/huge", "/invalid", "/flaky"):
        bad[path], _ = await feeds.add_feed(services.db, site.url(path), now=T0)
    good, _ = await feeds.add_feed(services.db, site.url("/good"), now=T0)
    started = time.monotonic()
    report = await poll_due(services, T0)
    assert time.monotonic() - started < 5
    assert (report.polled, report.failed, report.new_articles) == (5, 4, 2)
    assert (await feed_state(services, good)).status(T0) == "ok"
    errors = {path: (await feed_state(services, feed)).last_error for path, feed in bad.items()}
    assert "did not answer within 1 s" in str(errors["/hang"])
    assert "larger than" in str(errors["/huge"])
    assert "not an RSS or Atom feed" in str(errors["/invalid"])
    assert "HTTP 500" in str(errors["/flaky"])
    for feed in bad.values():
        state = await feed_state(services, feed)
        assert state.status(T0) == "retrying"
        assert state.next_poll_at > T0


async def test_a_failing_feed_backs_off_is_reported_once_and_recovers(
    services: Services, site: Site
) -> None:
    await add_target(services.db, 222, ui_language="es")
    feed, _ = await feeds.add_feed(services.db, site.url("/flaky"), now=T0)
    rng = random.Random(7)
    now = T0
    delays = []
    while now - T0 < FAILING_AFTER + 6 * 3600:
        report = await poll_due(services, now, rng=rng)
        assert report.failed == 1
        state = await feed_state(services, feed)
        delays.append(state.next_poll_at - now)
        if now - T0 < FAILING_AFTER:
            assert await notices(services) == []
            assert state.status(now) == "retrying"
        now = state.next_poll_at
    # 15, 30, 60 minutes … doubling (±10%), then capped.
    assert 13 * MINUTE <= delays[0] <= 17 * MINUTE
    assert 27 * MINUTE <= delays[1] <= 33 * MINUTE
    assert max(delays) <= BACKOFF_CAP * 1.1
    assert delays[-1] >= BACKOFF_CAP * 0.9
    told = await notices(services)
    assert [chat for chat, _ in told] == [111, 222]
    assert "has been failing for 2" in told[0][1]
    assert "HTTP 500" in told[0][1]
    assert "lleva" in told[1][1]  # the admin's own language
    assert (await feed_state(services, feed)).status(now) == "failing"
    # It works again: recovered by itself, and the admins hear it once.
    site.flaky_status = 200
    report = await poll_due(services, now, rng=rng)
    assert (report.failed, report.new_articles) == (0, 1)
    state = await feed_state(services, feed)
    assert state.status(now) == "ok"
    assert state.failure_count == 0
    told = await notices(services)
    assert len(told) == 4
    assert "works again" in told[2][1]
    await poll_due(services, state.next_poll_at, rng=rng)
    assert len(await notices(services)) == 4


async def test_feeds_toml_is_synced(services: Services, site: Site, tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    services.settings.feeds_path = path
    path.write_text(
        f'[[feed]]\nurl = "{site.url("/good")}"\ntitle = "Good"\npoll_minutes = 5\n\n'
        f'[[feed]]\nurl = "{site.url("/flaky")}"\nlanguage = "es"\n',
        "utf-8",
    )
    report = await sync_feeds(services, T0)
    assert report is not None
    assert report.added == 2
    listed = await feeds.list_feeds(services.db)
    assert [(f.title, f.poll_minutes, f.language) for f in listed] == [
        ("Good", 5, None),
        (None, None, "es"),
    ]
    path.write_text("[[feed]]\nurl = 'ftp://nope'\n", "utf-8")
    assert await sync_feeds(services, T0) is None  # refused, nothing changed
    assert len(await feeds.list_feeds(services.db)) == 2


def test_the_bundled_feed_list_is_valid_and_empty() -> None:
    from bot.config import DATA_DIR

    assert read_feed_file(DATA_DIR / "feeds.toml") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[feed]\n", "not valid TOML"),
        ("[[feed]]\ntitle = 'x'\n", "needs an http\\(s\\) url"),
        ("[[feed]]\nurl = 'https://x.example'\nlanguage = 'fr'\n", "language"),
        ("[[feed]]\nurl = 'https://x.example'\npoll_minutes = 0\n", "poll_minutes"),
    ],
)
def test_a_broken_feed_list_names_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(SourceError, match=problem):
        read_feed_file(path)
    assert read_feed_file(tmp_path / "missing.toml") == []


async def test_polls_and_failing_feeds_are_counted(services: Services, site: Site) -> None:
    def value(name: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    polls = {outcome: value("digestbot_feed_polls_total", outcome=outcome) for outcome in OUTCOMES}
    ingested = value("digestbot_articles_ingested_total")
    good, _ = await feeds.add_feed(services.db, site.url("/good"), now=T0)
    await feeds.add_feed(services.db, site.url("/invalid"), now=T0)
    await feeds.add_feed(services.db, site.url("/flaky"), now=T0)
    first = await poll_due(services, T0)
    then = await poll_due(services, (await feed_state(services, good)).next_poll_at)  # a 304
    await gauges.refresh(services, now=T0)
    moved = {o: value("digestbot_feed_polls_total", outcome=o) - polls[o] for o in OUTCOMES}
    assert (first.failed, then.not_modified) == (2, 1)
    assert moved == {"ok": 1, "not_modified": 1, "error": first.failed + then.failed}
    assert value("digestbot_articles_ingested_total") - ingested == 2
    assert value("digestbot_feeds_failing") == 2


OUTCOMES = ("ok", "not_modified", "error")
