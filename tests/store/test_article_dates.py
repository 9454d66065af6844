"""Which dates are real, which articles are a feed's back catalogue, and the reads
that tell them apart: the migration that first told them apart, on a real SQLite
file migrated from the schema before it, and the reads on either engine."""

from __future__ import annotations

from pathlib import Path

from bot.config import DATA_DIR
from bot.runtime import sync_catalogue
from bot.store import articles
from bot.store.articles import NewArticle
from bot.store.db import Database, bundled_migrations
from bot.topics import load_catalogue

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


def _new(n: int, *, fetched_at: int, dated: bool = True, backfill: bool = False) -> NewArticle:
    title = f"article {n}"
    return NewArticle(
        source="https://example.org/feed",
        guid=f"g{n}",
        url=f"https://example.org/{n}",
        title=title,
        summary="",
        language="en",
        published_at=fetched_at - n,
        fetched_at=fetched_at,
        content_hash=f"h{n}",
        title_en=title,
        title_es=title,
        summary_en="",
        summary_es="",
        topics=("history", "video") if n % 2 else ("video",),
        dated=dated,
        backfill=backfill,
    )


async def test_dates_back_catalogue_and_days_read_alike_on_either_engine(db: Database) -> None:
    await sync_catalogue(db, load_catalogue(DATA_DIR / "topics.toml"))
    assert not await articles.any_stored(db)
    assert await articles.newest_id(db) == 0
    ids = await articles.insert(
        db,
        [
            _new(1, fetched_at=T),
            _new(2, fetched_at=T, dated=False),
            _new(3, fetched_at=LATER, backfill=True),
            _new(4, fetched_at=LATER + 3_600),
        ],
    )
    assert len(ids) == 4
    assert await articles.any_stored(db)
    assert await articles.count(db) == 4
    assert await articles.newest_id(db) == ids[-1]

    asked = [ids[2], ids[0], ids[3], ids[1]]
    assert [a.id for a in await articles.get_many(db, asked)] == asked
    assert [a.dated for a in await articles.get_many(db, ids)] == [True, False, True, True]
    assert [a.title for a in await articles.between(db, 0, ids[-1])] == [
        "article 1",
        "article 2",
        "article 4",
    ]
    assert [a.id for a in await articles.between(db, ids[0], ids[2])] == [ids[1]]

    found, back_catalogue = await articles.earlier_versions(db, [ids[3], ids[2], ids[0]])
    assert [a.id for a in found] == [ids[0], ids[2], ids[3]]
    assert [a.topics for a in found] == [("history", "video"), ("history", "video"), ("video",)]
    assert back_catalogue == frozenset({ids[2]})
    assert await articles.topics_of(db, [ids[1], ids[2]]) == {
        ids[1]: ("video",),
        ids[2]: ("history", "video"),
    }

    # T is 2025-11-24 16:00 UTC, LATER a day later.
    assert await articles.per_day(db, since=0) == [("2025-11-24", 2), ("2025-11-25", 2)]
    assert await articles.per_day(db, since=LATER) == [("2025-11-25", 2)]
