"""Filling the /stats snapshot and chart series from the store."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.admin.stats import (
    CHART_DAYS,
    Deliveries,
    Series,
    Snapshot,
    chat_kind,
    cumulative,
    daily,
    last_days,
)
from bot.store import admin, articles, feeds, outbox, subscriptions
from bot.store.admin import DAY
from bot.store.db import Database

ARTICLE_DAYS = 7


async def snapshot(db: Database, now: int) -> Snapshot:
    active: dict[str, int] = {}
    inactive: dict[str, int] = {}
    for count in await admin.chat_counts(db):
        side = active if count.active else inactive
        kind = chat_kind(count.type)
        side[kind] = side.get(kind, 0) + count.count
    polled = await feeds.list_feeds(db)
    days = last_days(datetime.fromtimestamp(now, UTC).date(), ARTICLE_DAYS)
    since = int(datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC).timestamp())
    per_day = dict(await articles.per_day(db, since=since))
    return Snapshot(
        active=active,
        inactive=inactive,
        topics=await subscriptions.count_by_topic(db),
        languages=await admin.language_counts(db),
        day=Deliveries.from_counts(await admin.delivery_counts(db, since=now - DAY)),
        week=Deliveries.from_counts(await admin.delivery_counts(db, since=now - 7 * DAY)),
        outbox_depth=await outbox.depth(db),
        feeds=len(polled),
        feeds_failing=sum(1 for feed in polled if feed.status(now) == "failing"),
        articles_per_day=daily(days, per_day),
    )


async def chart_series(db: Database, now: int, count: int = CHART_DAYS) -> Series:
    """Subscribers at the end of each day (chats still subscribed, by when they
    first subscribed: unsubscriptions leave no history) and messages delivered."""
    days = last_days(datetime.fromtimestamp(now, UTC).date(), count)
    start = int(datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC).timestamp())
    base = await admin.subscribers_before(db, start)
    new = daily(days, await admin.new_subscribers_per_day(db, since=start))
    sent = daily(days, await admin.sent_per_day(db, since=start))
    return Series(days, cumulative(base, new), sent)
