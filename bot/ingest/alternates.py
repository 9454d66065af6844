"""Pairs from what the sources say: alternate links, language segments in
addresses, a listing's `Translation:` header."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.db import Database


async def pair_by_links(db: Database, new_ids: Sequence[int], *, now: int) -> int:
    """Complete the pairs the new articles' claims (or older articles' claims on
    them) describe; pairs made."""
    return 0
