"""Articles stored before the store knew which dates are real: the migration
tells them apart, on a real SQLite file migrated from the schema before it."""

from __future__ import annotations

from pathlib import Path

from bot.store import articles
from bot.store.db import Database, bundled_migrations

T = 1_764_000_000  # when the sample was loaded
LATER = T + 86_400  # when a feed was first polled


async def test_undated_and_back_catalogue_rows_are_recognised(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    before = [m for m in bundled_migrations() if m.version < 15]
    db = await Database.open(path, before)
    try:
        async with db.transaction() as tx:
            # As ingest stored them: an undated entry at its fetch time minus
            # its position in the source, a dated one at its date.
            await tx.executemany(
                "INSERT INTO articles (source, title, language, published_at, fetched_at,"
                " content_hash) VALUES (?, ?, 'en', ?, ?, ?)",
                [
                    ("articles.txt", "sample 1", T, T, "h1"),
                    ("articles.txt", "sample 2", T - 1, T, "h2"),
                    ("articles.txt", "sample 3", T - 2, T, "h3"),
                    ("https://example.org/feed", "this morning", LATER - 3_600, LATER, "h4"),
                    ("https://example.org/feed", "2019", LATER - 7 * 365 * 86_400, LATER, "h5"),
                    ("https://example.org/feed", "undated item", LATER - 2, LATER, "h6"),
                ],
            )
    finally:
        await db.close()

    db = await Database.open(path)
    try:
        stored = await articles.get_many(db, [1, 2, 3, 4, 5, 6])
        assert [a.dated for a in stored] == [False, False, False, True, True, False]
        assert [a.published_at for a in stored][:3] == [T, T - 1, T - 2]  # order kept
        assert [a.title for a in await articles.between(db, 0, 6)] == [
            "sample 1",
            "sample 2",
            "sample 3",
            "this morning",
            "undated item",
        ]
    finally:
        await db.close()
