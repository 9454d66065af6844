"""Polling the feeds: due feeds fetched concurrently, conditionally, in isolation.

Each feed is fetched with its last ETag / Last-Modified, so an unchanged feed
costs one 304. A feed's failure only reschedules that feed, with exponential
backoff; after `feeds.FAILING_AFTER` of failures the admins get one notice,
and one more when it works again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

import bot.metrics as metrics
from bot.config import Settings
from bot.formatting import escape, truncate
from bot.i18n import t
from bot.ingest.entry import SourceError
from bot.languages import LANGUAGES
from bot.services import Services
from bot.store import feeds
from bot.store.feeds import Feed, FeedConfig, SyncReport
from bot.store.outbox import NewMessage

log = logging.getLogger(__name__)

BACKOFF_CAP: Final = 2 * 3600
"""Longest wait between retries of a failing feed (or its poll interval, if
longer), so a feed that comes back is noticed within two hours."""
JITTER: Final = 0.1


@dataclass
class PollReport:
    polled: int = 0
    not_modified: int = 0
    failed: int = 0
    new_ids: list[int] = field(default_factory=list)

    @property
    def new_articles(self) -> int:
        return len(self.new_ids)


def read_feed_file(path: Path) -> list[FeedConfig]:
    """The `[[feed]]` entries of feeds.toml; a missing file lists none."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        log.warning("feed list %s does not exist; no configured feeds", path)
        return []
    except OSError as exc:
        raise SourceError(f"cannot read feed list {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"feed list {path} is not valid TOML: {exc}") from exc
    found: dict[str, FeedConfig] = {}
    for index, raw in enumerate(data.get("feed", []), start=1):
        url = str(raw.get("url", "")).strip()
        if not url.startswith(("http://", "https://")):
            raise SourceError(f"feed #{index} in {path} needs an http(s) url")
        language = raw.get("language")
        if language is not None and language not in LANGUAGES:
            raise SourceError(f"feed #{index} in {path}: language must be 'en' or 'es'")
        minutes = raw.get("poll_minutes")
        if minutes is not None and (not isinstance(minutes, int) or minutes < 1):
            raise SourceError(f"feed #{index} in {path}: poll_minutes must be a whole number >= 1")
        title = raw.get("title")
        found[url] = FeedConfig(url, None if title is None else str(title), language, minutes)
    return list(found.values())


async def sync_feeds(services: Services, now: int) -> SyncReport | None:
    """Bring the feeds table in line with FEEDS_PATH (at start-up). A broken file
    is logged and changes nothing."""
    try:
        configured = read_feed_file(services.settings.feeds_path)
    except SourceError as exc:
        log.error("feeds not synced: %s", exc)
        return None
    report = await feeds.sync_config(services.db, configured, now=now)
    log.info(
        "feeds from %s: %d added, %d updated, %d removed",
        services.settings.feeds_path,
        report.added,
        report.updated,
        report.removed,
    )
    return report


def interval(feed: Feed, settings: Settings) -> int:
    return 60 * (feed.poll_minutes or settings.feed_poll_minutes)


def next_poll(feed: Feed, settings: Settings, now: int, rng: random.Random) -> int:
    """After a success: one interval, plus up to 10% so feeds added together drift apart."""
    every = interval(feed, settings)
    return now + every + int(rng.uniform(0, JITTER) * every)


def retry_at(feed: Feed, settings: Settings, now: int, rng: random.Random) -> int:
    """After a failure: the interval doubled per consecutive failure, capped, ±10%."""
    every = interval(feed, settings)
    failures = feed.failure_count + 1
    delay = min(every * 2 ** min(failures - 1, 20), max(every, BACKOFF_CAP))
    return now + max(60, int(delay * rng.uniform(1 - JITTER, 1 + JITTER)))


async def _notices(services: Services, key: str, feed: Feed, **values: object) -> list[NewMessage]:
    admins = services.settings.admin_ids
    if not admins:
        return []
    languages = await feeds.chat_languages(services.db, admins)
    default = services.settings.default_language
    return [
        NewMessage.text(
            admin,
            t(languages.get(admin, default), key, feed=escape(truncate(feed.name, 120)), **values),
            kind="notice",
            link_preview_options={"is_disabled": True},
        )
        for admin in admins
    ]


async def _succeed(
    services: Services,
    feed: Feed,
    client: httpx.AsyncClient,
    now: int,
    rng: random.Random,
    report: PollReport,
) -> None:
    # On first use: a bot that polls no feed idles without them.
    from bot.ingest.fetch import fetch, parse_fetched
    from bot.ingest.pipeline import ingest

    settings = services.settings
    result = await fetch(
        client,
        feed.url,
        etag=feed.etag,
        last_modified=feed.last_modified,
        timeout=settings.feed_timeout_seconds,
        max_bytes=settings.feed_max_bytes,
    )
    title = None
    new_ids: tuple[int, ...] = ()
    if result.not_modified:
        report.not_modified += 1
    else:
        parsed = await parse_fetched(result, max_bytes=settings.feed_max_bytes)
        title = parsed.title
        ingested = await ingest(
            services.db,
            parsed.entries,
            source=feed.url,
            catalogue=services.catalogue,
            now=now,
            feed_id=feed.id,
            feed_language=parsed.language,
            language_override=feed.language,
            max_age_days=settings.digest_max_age_days,
            pair_window_days=settings.pairing_window_days,
        )
        new_ids = ingested.new_ids
    recovered = (
        await _notices(services, "digest.feed_recovered", feed) if feed.failure_reported else []
    )
    was_failing = await feeds.record_success(
        services.db,
        feed.id,
        now=now,
        next_poll_at=next_poll(feed, settings, now, rng),
        etag=result.etag,
        last_modified=result.last_modified,
        new_count=len(new_ids),
        title=title,
        recovered=recovered,
    )
    report.new_ids.extend(new_ids)
    if was_failing:
        log.info("feed %s works again", feed.url)
        if recovered:
            services.wake_sender()


async def _fail(services: Services, feed: Feed, error: str, now: int, rng: random.Random) -> None:
    since = feed.failing_since if feed.failing_since is not None else now
    notices: list[NewMessage] = []
    if not feed.failure_reported and now - since >= feeds.FAILING_AFTER:
        notices = await _notices(
            services,
            "digest.feed_failing",
            feed,
            hours=(now - since) // 3600,
            error=escape(truncate(error, 200)),
        )
    reported = await feeds.record_failure(
        services.db,
        feed.id,
        now=now,
        next_poll_at=retry_at(feed, services.settings, now, rng),
        error=error,
        notices=notices,
    )
    if reported:
        log.warning("feed %s has been failing since %d: %s", feed.url, since, error)
        if notices:
            services.wake_sender()


async def poll_feed(
    services: Services,
    feed: Feed,
    client: httpx.AsyncClient,
    now: int,
    rng: random.Random,
    report: PollReport,
) -> None:
    """Fetch, ingest and record one feed; never raises, so one feed cannot stop another."""
    try:
        before = report.not_modified
        await _succeed(services, feed, client, now, rng, report)
        metrics.FEED_POLLS.labels("not_modified" if report.not_modified > before else "ok").inc()
        return
    except SourceError as exc:
        error = str(exc)
        log.info("feed %s failed: %s", feed.url, error)
    except Exception as exc:
        error = f"unexpected error ({type(exc).__name__})"
        log.exception("feed %s: unexpected error while polling", feed.url)
    report.failed += 1
    metrics.FEED_POLLS.labels("error").inc()
    try:
        await _fail(services, feed, error, now, rng)
    except Exception:
        log.exception("feed %s: could not record the failure", feed.url)


async def poll_due(
    services: Services,
    now: int,
    *,
    client: httpx.AsyncClient | None = None,
    rng: random.Random | None = None,
    limit: int = 200,
) -> PollReport:
    """Poll every due feed, FEED_CONCURRENCY at a time. The report's `new_ids`
    are the articles stored by this run (dispatch_instant should follow)."""
    due = await feeds.due_feeds(services.db, now, limit=limit)
    report = PollReport(polled=len(due))
    if not due:
        return report
    rng = rng or random.Random()
    gate = asyncio.Semaphore(services.settings.feed_concurrency)

    async def one(feed: Feed, http: httpx.AsyncClient) -> None:
        async with gate:
            await poll_feed(services, feed, http, now, rng, report)

    async def run_all(http: httpx.AsyncClient) -> None:
        await asyncio.gather(*(one(feed, http) for feed in due))

    if client is not None:
        await run_all(client)
    else:
        # On first use: a bot that polls no feed idles without them.
        from bot.ingest.fetch import make_client

        async with make_client(services.settings.feed_allowed_hosts) as own:
            await run_all(own)
    return report
