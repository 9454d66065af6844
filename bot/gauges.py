"""The metrics that are states, not events: read from the store every few seconds.

The outbox's depth and oldest waiting row, the feeds failing and the database's
size are facts about the database, so they are read, not counted. Reading them
when Prometheus scrapes would put database reads (and, behind a long broadcast,
a count over every waiting row) inside the scrape; a custom collector would have
to run async store code from prometheus_client's synchronous `collect`. So a
small task refreshes them on a timer instead, and a scrape only formats numbers
already there: it is never slower for a busy database, and at worst
`REFRESH_INTERVAL` behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final

import bot.metrics as metrics
from bot.services import Services
from bot.store import feeds, outbox

log = logging.getLogger(__name__)

REFRESH_INTERVAL: Final = 15.0  # seconds; Prometheus' usual scrape interval is 15-60 s


async def refresh(services: Services, now: float | None = None) -> None:
    """Set the gauges from the store as it is now (`now`: Unix seconds)."""
    at = services.now() if now is None else now
    backlog = await outbox.backlog(services.db, at)
    for kind in outbox.KINDS:
        count, oldest = backlog.get(kind, (0, None))
        label = metrics.outbox_kind(kind)
        metrics.OUTBOX_DEPTH.labels(label).set(count)
        age = 0.0 if oldest is None else max(0.0, at - oldest)
        metrics.OUTBOX_OLDEST_AGE.labels(label).set(age)
    metrics.FEEDS_FAILING.set(await feeds.failing_count(services.db))
    metrics.DATABASE_SIZE.set(await services.db.size_bytes())


@contextlib.asynccontextmanager
async def refreshing(
    services: Services, every: float = REFRESH_INTERVAL
) -> AsyncIterator[asyncio.Task[None]]:
    """Refresh the gauges every `every` seconds while inside; a failed read is logged
    and tried again at the next turn (the gauges keep their last values)."""

    async def loop() -> None:
        while True:
            try:
                await refresh(services)
            except Exception:
                log.exception("could not refresh the metrics read from the database")
            await asyncio.sleep(every)

    task = asyncio.create_task(loop(), name="metrics-gauges")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
