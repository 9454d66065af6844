"""Opening the content the bot serves: the store, the catalogue and the seed.

Every entry point (the bot, the CLI, the local chat mode, the benchmarks)
starts here, so a fresh install always has an upgraded schema, the topic
table in step with `topics.toml`, and the bundled articles to search; and an
upgraded one has finished what its migrations left to code (re-indexing
articles, settling keyword subscriptions) before anything is served.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.ingest.entry import SourceError
from bot.search.keywords import check_keyword_subscriptions
from bot.search.reindex import rebuild_index
from bot.store import articles, topics
from bot.store.db import Database
from bot.topics import Catalogue, load_catalogue

if TYPE_CHECKING:
    from bot.ingest.pipeline import IngestReport

log = logging.getLogger(__name__)


@dataclass
class Content:
    db: Database
    catalogue: Catalogue


async def sync_catalogue(db: Database, catalogue: Catalogue) -> None:
    await topics.sync(db, [topics.TopicRow(t.slug, t.name_en, t.name_es) for t in catalogue.topics])


async def seed_if_empty(
    db: Database,
    listing: Path,
    catalogue: Catalogue,
    *,
    max_age_days: int | None = None,
    pair_window_days: int | None = None,
) -> IngestReport | None:
    """Load the bundled listing into an empty database, so a new install has content.
    Its articles dated long before today stay out of digests, as from any source;
    the bundled listing has no dates, so it keeps its own order and shows none.
    `max_age_days` and `pair_window_days` default to the pipeline's.

    Ingest is imported only for an empty database: a bot on an archive idles without it."""
    if await articles.any_stored(db):
        return None
    from bot.ingest.listing import read_listing
    from bot.ingest.pairing import DEFAULT_WINDOW_DAYS
    from bot.ingest.pipeline import DEFAULT_MAX_AGE_DAYS, ingest

    try:
        entries = await asyncio.to_thread(read_listing, listing)
    except SourceError as exc:
        log.warning("no seed articles loaded: %s", exc)
        return None
    report = await ingest(
        db,
        entries,
        source=str(listing.name),
        catalogue=catalogue,
        now=int(time.time()),
        max_age_days=DEFAULT_MAX_AGE_DAYS if max_age_days is None else max_age_days,
        pair_window_days=DEFAULT_WINDOW_DAYS if pair_window_days is None else pair_window_days,
    )
    log.info("loaded %d seed articles from %s", report.new, listing)
    return report


async def open_content(settings: Settings, *, seed: bool = True) -> Content:
    catalogue = load_catalogue(settings.topics_path)
    db = await Database.open(settings.database)
    try:
        await rebuild_index(db)
        await check_keyword_subscriptions(
            db,
            catalogue=catalogue,
            admin_ids=settings.admin_ids,
            default_language=settings.default_language,
        )
        await sync_catalogue(db, catalogue)
        if seed:
            await seed_if_empty(
                db,
                settings.seed_listing_path,
                catalogue,
                max_age_days=settings.digest_max_age_days,
                pair_window_days=settings.pairing_window_days,
            )
    except BaseException:
        await db.close()
        raise
    return Content(db, catalogue)
