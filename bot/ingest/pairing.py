"""Pairing an ingest's new articles with their translations, before it returns.

Two passes, strongest evidence first: what the sources say (an alternate link,
an address that differs by its language segment, a listing's `Translation:`),
then, for what is still single, what the texts share. Running inside ingest
means a digest or an instant post that follows the ingest already sees the
pair, so a story is never sent twice because its pair was found late.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.ingest.alternates import pair_by_links
from bot.ingest.matching import pair_by_text
from bot.store.db import Database
from bot.store.translations import StoryText

DEFAULT_WINDOW_DAYS: Final = 3
"""How far apart two versions of one story may be published (PAIRING_WINDOW_DAYS)."""


async def pair_arrivals(
    db: Database,
    new_ids: Sequence[int],
    *,
    now: int,
    window_days: int = DEFAULT_WINDOW_DAYS,
    arrivals: Sequence[StoryText] | None = None,
) -> int:
    """Pair the newly stored `new_ids` where evidence allows; pairs made.
    `arrivals`: what ingest stored of them (`translations.arriving`), which
    spares matching from reading them back."""
    if not new_ids:
        return 0
    made = await pair_by_links(db, new_ids, now=now)
    made += await pair_by_text(db, new_ids, now=now, window_days=window_days, arrivals=arrivals)
    return made
