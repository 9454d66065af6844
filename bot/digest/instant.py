"""New articles reach instant subscribers as soon as they are stored.

Every path that stores articles while the bot runs (the feed poller's job, an
admin's /ingest and /feed_add) calls `articles_arrived`, so none of them leaves
a breaking story waiting for the instant job's next minute. The run queues the
targets in batches and wakes the sender after each one
(`dispatch.dispatch_instant`), so the first subscribers get the story while the
others are still being composed.

Runs are one at a time per bot: two at once would compose the same digests
twice, and one of them would find the cursors already moved and throw its work
away. A run that has to wait sees the articles stored meanwhile, so nothing
that arrives during a run is left for the next minute either.
"""

from __future__ import annotations

import logging

from bot.digest.dispatch import DispatchReport, dispatch_instant
from bot.services import Services

log = logging.getLogger(__name__)


async def run_instant(services: Services, now: int) -> DispatchReport:
    """Queue what is new for instant targets (the instant job's body); raises on failure."""
    async with services.instant_lock:
        report = await dispatch_instant(services, now)
    if report.targets:
        log.info("instant digests: %s", report)
    return report


async def articles_arrived(services: Services, new: int, now: int) -> DispatchReport | None:
    """`new` articles were just stored: queue them for instant targets now.

    Never raises: the articles are stored whatever happens here, and the instant
    job retries within a minute. None when nothing was new or the run failed."""
    if new <= 0:
        return None
    try:
        return await run_instant(services, now)
    except Exception:
        log.exception("instant digests after %d new articles failed (now=%d)", new, now)
        return None
