"""Which topic a feed's category names: the catalogue's own words, as feeds
write them (inflected, capitalised, accented or not), and nothing looser."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest, retag
from bot.store import articles
from bot.store.db import Database
from bot.text import index_text
from tests.digest.helpers import CATALOGUE, open_db

T = 1_764_000_000


@pytest.mark.parametrize(
    ("category", "slug"),
    [
        ("Migration", "migration"),  # a name
        ("womens-rights", "womens-rights"),  # a slug
        ("Refugees", "migration"),  # a keyword, plural
        ("Deportaciones", "migration"),  # a Spanish keyword, plural, unaccented
        ("DEPORTACIÓN", "migration"),
        ("Mujeres", "womens-rights"),
        ("Border collies", None),  # holds a keyword, is not one
        ("Sports", None),
        ("", None),
        ("!!!", None),
    ],
)
def test_a_category_names_the_topic_whose_keyword_it_is(category: str, slug: str | None) -> None:
    assert CATALOGUE.category_topic(category) == slug


def test_an_article_is_tagged_with_the_topics_its_categories_name() -> None:
    text = index_text("A quiet night on the coast")
    assert CATALOGUE.tag(text) == []
    assert CATALOGUE.tag(text, ("Refugees", "Weather")) == ["migration"]


async def test_a_retag_keeps_the_topics_categories_gave(tmp_path: Path) -> None:
    """Re-tagging after the catalogue changes reads each article's categories
    again with its text: an article about nothing the text names, filed under
    "Refugees", stays under migration, and one stored before categories were
    kept goes by its text alone."""
    db = await open_db(tmp_path / "bot.sqlite3")
    try:
        quiet = Entry(title="A quiet night on the coast", summary="Nothing happened.")
        report = await ingest(
            db,
            [replace(quiet, categories=("Refugees", "Weather"))],
            source="s",
            catalogue=CATALOGUE,
            now=T,
        )
        [filed] = report.new_ids
        assert await _topics(db, filed) == ["migration"]
        assert await retag(db, CATALOGUE) == 0
        assert await _topics(db, filed) == ["migration"]

        # Stored before categories were kept: the column is NULL.
        async with db.transaction() as tx:
            await tx.execute("UPDATE articles SET categories = NULL WHERE id = ?", (filed,))
        assert await retag(db, CATALOGUE) == 1
        assert await _topics(db, filed) == []
    finally:
        await db.close()


async def _topics(db: Database, article_id: int) -> list[str]:
    [article] = await articles.get_many(db, [article_id])
    return list(article.topics)
