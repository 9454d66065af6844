"""The catalogue's topics written into an empty store on either engine.

Start-up writes them with `bot.store.topics.sync`; its clean-up of removed
topics is SQLite's SQL until that module is ported, and an empty store has
nothing to clean, so the tests that need topics on PostgreSQL insert them as
its first statement does."""

from __future__ import annotations

from bot.store.db import Database
from bot.topics import Catalogue


async def write_topics(db: Database, catalogue: Catalogue) -> None:
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO topics (slug, name_en, name_es, position) VALUES (?, ?, ?, ?)",
            [
                (topic.slug, topic.name_en, topic.name_es, position)
                for position, topic in enumerate(catalogue.topics)
            ],
        )
