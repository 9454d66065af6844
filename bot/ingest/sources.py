"""Ingesting a location given by an operator: a feed URL, a feed file or a listing."""

from __future__ import annotations

from bot.config import Settings
from bot.ingest.fetch import load_source, make_client
from bot.ingest.pipeline import IngestReport, ingest
from bot.store.db import Database
from bot.topics import Catalogue


async def ingest_location(
    db: Database, catalogue: Catalogue, location: str, *, settings: Settings, now: int
) -> IngestReport:
    async with make_client(settings.feed_allowed_hosts) as client:
        feed = await load_source(
            client,
            location,
            timeout=settings.feed_timeout_seconds,
            max_bytes=settings.feed_max_bytes,
        )
    return await ingest(
        db,
        feed.entries,
        source=location,
        catalogue=catalogue,
        now=now,
        feed_language=feed.language,
        max_age_days=settings.digest_max_age_days,
        pair_window_days=settings.pairing_window_days,
    )
