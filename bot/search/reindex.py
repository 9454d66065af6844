"""Putting stored articles back into a recreated full-text index.

The index is contentless, so when a migration recreates it (new options, a new
column) the words of every stored article must be stemmed again. The store
keeps the progress in `search_reindex`; this runs at start-up, before anything
is served, a batch per transaction, and resumes where an interrupted run
stopped.
"""

from __future__ import annotations

import logging
import time

from bot.store import articles
from bot.store.db import Database
from bot.text import index_columns

log = logging.getLogger(__name__)

BATCH = 2_000
REPORT_SECONDS = 10.0


async def rebuild_index(db: Database, *, batch: int = BATCH) -> bool:
    """Index every article waiting for it; True when there was anything to do."""
    state = await articles.reindex_state(db)
    if state is None:
        return False
    done_id, upto_id = state
    log.info("rebuilding the search index: articles %d to %d", done_id + 1, upto_id)
    started = reported = time.monotonic()
    while (state := await articles.reindex_batch(db, index_columns, limit=batch)) is not None:
        if time.monotonic() - reported >= REPORT_SECONDS:
            reported = time.monotonic()
            log.info("search index: up to article %d of %d", *state)
    log.info("search index rebuilt in %.0f s", time.monotonic() - started)
    return True
