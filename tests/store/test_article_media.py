"""Lead images on the article row, full texts beside it: on either engine, and
on a real SQLite file migrated from the schema before either existed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.store import articles
from bot.store.articles import FullContent, Image, NewArticle
from bot.store.db import Database, bundled_migrations
from bot.store.fulltext import Term, TextMatch
from bot.store.sqlite import SQLiteDatabase

T = 1_764_000_000


def _article(n: int, **extra: object) -> NewArticle:
    title = f"Strike news {n}"
    return NewArticle(
        source="https://example.org/feed",
        guid=f"g{n}",
        url=f"https://example.org/{n}",
        title=title,
        summary="strike",
        language="en",
        published_at=T + n,
        fetched_at=T + n,
        content_hash=f"h{n}",
        title_en=title.lower(),
        title_es=title.lower(),
        summary_en="strike",
        summary_es="strike",
        topics=(),
        **extra,  # type: ignore[arg-type]
    )


async def test_images_and_full_texts_are_stored_and_read(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = await Database.open(path, [m for m in bundled_migrations() if m.version < 16])
    try:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO articles (id, source, url, title, summary, language, published_at,"
                " fetched_at, content_hash) VALUES (1, 'old', 'https://example.org/1',"
                " 'Strike news 1', 'strike', 'en', ?, ?, 'h1')",
                (T + 1, T + 1),
            )
            await tx.execute(
                "INSERT INTO article_search (rowid, title_en, title_es, summary_en, summary_es,"
                " language) VALUES (1, 'strike news 1', 'strike news 1', 'strike', 'strike',"
                " '_en')"
            )
    finally:
        await db.close()

    db = await Database.open(path)
    try:
        await _images_and_full_texts_are_read(db, old=1)
    finally:
        await db.close()


async def test_images_and_full_texts_are_stored_and_read_on_either_engine(db: Database) -> None:
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO articles (source, url, title, summary, language, published_at,"
            " fetched_at, content_hash) VALUES ('old', 'https://example.org/1',"
            " 'Strike news 1', 'strike', 'en', ?, ?, 'h1') RETURNING id",
            (T + 1, T + 1),
        )
        row = await cursor.fetchone()
        assert row is not None
        await tx.execute(
            "INSERT INTO article_search (rowid, title_en, title_es, summary_en, summary_es,"
            " language) VALUES (?, 'strike news 1', 'strike news 1', 'strike', 'strike',"
            " '_en')",
            (row[0],),
        )
    await _images_and_full_texts_are_read(db, old=row[0])


async def _images_and_full_texts_are_read(db: Database, *, old: int) -> None:
    """An article stored without an image (`old`), and three stored with or without
    one and a full text: each read gives each what it has."""
    photo = Image("https://cdn.example.org/2.jpg", 1200, 630)
    text = FullContent(html="<p>The whole story.</p>", truncated=True)
    pictured, read, plain = await articles.insert(
        db,
        [
            _article(2, image=photo),
            _article(3, image=Image("https://cdn.example.org/3.jpg"), content=text),
            _article(4),
        ],
    )
    ids = [old, pictured, read, plain]
    expected = [None, photo, Image("https://cdn.example.org/3.jpg"), None]

    # Every read that lists articles carries the image.
    assert [a.image for a in await articles.get_many(db, ids)] == expected
    assert [a.image for a in await articles.between(db, 0, plain)] == expected
    assert [a.image for a in await articles.latest(db, limit=4)] == expected[::-1]
    strike = TextMatch((Term(("strike",), ("strike",)),))
    assert [a.image for a in await articles.search(db, strike, limit=4)] == expected[::-1]

    assert await articles.with_full_content(db, ids) == {read}
    assert await articles.with_full_content(db, []) == set()
    assert await articles.full_content(db, read) == text
    assert await articles.full_content(db, plain) is None
    assert await articles.full_content(db, old) is None


async def test_full_texts_stay_off_the_article_rows(sqlite_db: SQLiteDatabase) -> None:
    db = sqlite_db
    columns = {row[1] for row in await db.fetchall("PRAGMA table_info(articles)")}
    assert "html" not in columns
    assert {"image_url", "image_width", "image_height"} <= columns
    # Telling which articles have a text is a key probe each, not a read of the texts.
    plan = await db.fetchall(
        "EXPLAIN QUERY PLAN SELECT c.article_id FROM json_each(?) AS wanted"
        " JOIN article_content AS c ON c.article_id = wanted.value",
        ("[1, 2]",),
    )
    assert any("INTEGER PRIMARY KEY" in row[-1] for row in plan), plan
    assert not any(row[-1].startswith("SCAN c") for row in plan), plan


async def test_one_text_twice_in_a_batch_is_stored_once(db: Database) -> None:
    """A feed that repeats an article under a second guid and address, in the
    same fetch: the text is stored once, with its full text and keys, and the
    rest of the batch with it, instead of the whole batch failing (every poll)."""
    text = FullContent(html="<p>The whole story.</p>", truncated=False)
    first = _article(1, content=text, story_keys=("n:juarez",))
    again = replace(_article(2, content=text, story_keys=("n:juarez",)), content_hash="h1")
    stored = await articles.insert_with_ids(db, [first, again, _article(3)])
    assert [article.guid for _, article in stored] == ["g1", "g3"]
    ids = [article_id for article_id, _ in stored]
    assert len(set(ids)) == 2
    assert await articles.with_full_content(db, ids) == {ids[0]}
    assert await articles.insert(db, [again]) == []
