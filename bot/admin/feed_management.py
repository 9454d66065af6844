"""Managing feeds for admins: add (validated by fetching), remove, poll now,
OPML import and export, and the /feeds listing text.

A URL typed by an admin goes through `fetch` and `parse_fetched` only, never
`load_source`: that one also opens local files, which is for configuration.
Nothing is stored until the URL has answered with a feed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from bot.admin.opml import OpmlDocument, OpmlFeed, write_opml
from bot.digest.instant import articles_arrived
from bot.formatting import escape, local_date, truncate
from bot.i18n import t
from bot.ingest.poller import PollReport, next_poll, poll_due
from bot.services import Services
from bot.store import admin, articles, feeds
from bot.store.articles import Article
from bot.store.feeds import Feed

NEW_SHOWN = 10
ERROR_SHOWN = 160


class AlreadyPolled(Exception):
    def __init__(self, feed: Feed) -> None:
        super().__init__(feed.url)
        self.feed = feed


@dataclass(frozen=True)
class Added:
    feed: Feed
    seen: int  # entries in the feed
    new: int  # articles stored for the first time


@dataclass(frozen=True)
class Polled:
    report: PollReport
    newest: list[Article]


@dataclass(frozen=True)
class Imported:
    added: int
    already: int
    skipped: int


async def add_feed(
    services: Services,
    url: str,
    *,
    admin_id: int,
    client: httpx.AsyncClient | None = None,
) -> Added:
    """Fetch and parse `url`; only if it is a feed, store it with its articles.
    Raises SourceError (one line for the admin) otherwise, or AlreadyPolled."""
    # On first use: a bot that polls no feed idles without them.
    from bot.ingest.fetch import fetch, make_client, parse_fetched
    from bot.ingest.pipeline import ingest

    settings, db, now = services.settings, services.db, services.now()
    url = url.strip()
    existing = await feeds.find_feed(db, url)
    if existing is not None and existing.removed_at is None:
        raise AlreadyPolled(existing)
    if client is None:
        async with make_client(settings.feed_allowed_hosts) as own:
            return await add_feed(services, url, admin_id=admin_id, client=own)
    result = await fetch(
        client, url, timeout=settings.feed_timeout_seconds, max_bytes=settings.feed_max_bytes
    )
    parsed = await parse_fetched(result, max_bytes=settings.feed_max_bytes)
    feed, _ = await feeds.add_feed(db, url, now=now, title=parsed.title, added_by=admin_id)
    report = await ingest(
        db,
        parsed.entries,
        source=feed.url,
        catalogue=services.catalogue,
        now=now,
        feed_id=feed.id,
        feed_language=feed.language or parsed.language,
        max_age_days=settings.digest_max_age_days,
        pair_window_days=settings.pairing_window_days,
    )
    await feeds.record_success(
        db,
        feed.id,
        now=now,
        next_poll_at=next_poll(feed, settings, now, random.Random()),
        etag=result.etag,
        last_modified=result.last_modified,
        new_count=report.new,
        title=parsed.title,
    )
    await admin.audit(db, admin_id, "feed_add", detail=f"#{feed.id} {url}", now=now)
    await articles_arrived(services, report.new, now)
    stored = await feeds.get_feed(db, feed.id)
    return Added(stored or feed, report.seen, report.new)


async def remove_feed(services: Services, feed_id: int, *, admin_id: int) -> Feed | None:
    now = services.now()
    removed = await feeds.remove_feed(services.db, feed_id, now=now)
    if removed is not None:
        await admin.audit(services.db, admin_id, "feed_remove", detail=f"#{feed_id}", now=now)
    return removed


async def poll_all(services: Services, *, admin_id: int) -> Polled:
    """Poll every feed now, whatever its schedule (a failing feed too)."""
    now = services.now()
    due = await admin.make_feeds_due(services.db, now)
    report = await poll_due(services, now, limit=max(due, 1))
    await articles_arrived(services, report.new_articles, now)
    newest = await articles.get_many(services.db, report.new_ids[:NEW_SHOWN])
    await admin.audit(
        services.db,
        admin_id,
        "ingest",
        detail=f"{report.polled} polled, {report.new_articles} new, {report.failed} failed",
        now=now,
    )
    return Polled(report, newest)


async def import_feeds(services: Services, document: OpmlDocument, *, admin_id: int) -> Imported:
    """Add the listed feeds; the poller fetches them within its next run. They are
    not fetched here: a reader's export can list hundreds."""
    now, added, already = services.now(), 0, 0
    for item in document.feeds:
        existing = await feeds.find_feed(services.db, item.url)
        if existing is not None and existing.removed_at is None:
            already += 1
            continue
        await feeds.add_feed(
            services.db,
            item.url,
            now=now,
            title=item.title,
            language=item.language,
            poll_minutes=item.poll_minutes,
            added_by=admin_id,
        )
        added += 1
    await admin.audit(
        services.db,
        admin_id,
        "import",
        detail=f"{added} added, {already} already polled, {len(document.skipped)} skipped",
        now=now,
    )
    return Imported(added, already, len(document.skipped))


async def export_feeds(services: Services, *, admin_id: int) -> tuple[bytes, int]:
    """The polled feeds as OPML, and how many there are."""
    now = services.now()
    listed = [
        OpmlFeed(feed.url, feed.title, feed.language, feed.poll_minutes)
        for feed in await feeds.list_feeds(services.db)
    ]
    data = write_opml(listed, title="Feeds", created=datetime.fromtimestamp(now, UTC))
    await admin.audit(services.db, admin_id, "export", detail=f"{len(listed)} feeds", now=now)
    return data, len(listed)


def feed_block(feed: Feed, article_count: int, *, now: int, language: str, timezone: str) -> str:
    """One feed in /feeds: id and name, URL, state, last new article, count."""
    status = feed.status(now)
    if status in ("failing", "retrying") and feed.failing_since is not None:
        state = t(
            language,
            f"admin.feed_{status}",
            since=local_date(feed.failing_since, timezone, language),
            error=escape(truncate(feed.last_error or "", ERROR_SHOWN)),
        )
    else:
        state = t(language, f"admin.feed_{status}")
    last_new = (
        local_date(feed.last_new_at, timezone, language)
        if feed.last_new_at is not None
        else t(language, "admin.feed_never")
    )
    return t(
        language,
        "admin.feed_block",
        id=feed.id,
        name=escape(truncate(feed.name, 120)),
        url=escape(feed.url),
        state=state,
        last_new=last_new,
        articles=t(language, "admin.articles", count=article_count),
    )
