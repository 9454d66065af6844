"""The topics table mirrors the catalogue file; article_topics holds the tags."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.store.articles import CATEGORY_SEPARATOR
from bot.store.db import Database, Dialect


@dataclass(frozen=True)
class TopicRow:
    slug: str
    name_en: str
    name_es: str


@dataclass(frozen=True)
class TopicCount:
    slug: str
    name_en: str
    name_es: str
    articles: int

    def name(self, language: str) -> str:
        return self.name_es if language == "es" else self.name_en


async def sync(db: Database, topics: Iterable[TopicRow]) -> None:
    """Make the table equal the catalogue (a removed topic loses its tags)."""
    rows = list(topics)
    async with db.transaction() as tx:
        await tx.executemany(
            """
            INSERT INTO topics (slug, name_en, name_es, position) VALUES (?, ?, ?, ?)
            ON CONFLICT (slug) DO UPDATE SET
                name_en = excluded.name_en, name_es = excluded.name_es,
                position = excluded.position
            """,
            [(row.slug, row.name_en, row.name_es, index) for index, row in enumerate(rows)],
        )
        slugs = [row.slug for row in rows]
        await tx.execute(
            _REMOVE_UNLISTED[db.dialect],
            (json.dumps(slugs) if db.dialect == "sqlite" else slugs,),
        )


_REMOVE_UNLISTED: dict[Dialect, str] = {
    "sqlite": "DELETE FROM topics WHERE slug NOT IN (SELECT value FROM json_each(?))",
    "postgresql": "DELETE FROM topics WHERE slug <> ALL(CAST(? AS text[]))",
}
"""The topics the catalogue no longer lists: a JSON list of slugs on SQLite, an
array on PostgreSQL."""


COUNTS_SQL = """
WITH shared AS (
    SELECT x.topic AS topic, count(*) AS pairs
    FROM translations AS t
    CROSS JOIN article_topics AS x ON x.article_id = t.article_id
    CROSS JOIN article_topics AS y ON y.article_id = t.other_id AND y.topic = x.topic
    WHERE t.article_id < t.other_id
    GROUP BY x.topic
)
SELECT slug, name_en, name_es, articles - coalesce(shared.pairs, 0)
FROM topics LEFT JOIN shared ON shared.topic = topics.slug
ORDER BY position
"""
"""Every topic's maintained article count, less the pairs both of whose versions
carry it. The pairs are walked once (CROSS JOIN keeps `translations` the outer
loop: left to itself, the planner started from each topic's articles and scanned
them all, 100 ms a /topics at a million articles), so the cost follows the pairs
stored, and is nothing without any."""

COUNTS_SQL_POSTGRESQL = """
WITH shared AS (
    SELECT x.topic AS topic, count(*) AS pairs
    FROM translations AS t
    JOIN article_topics AS x ON x.article_id = t.article_id
    JOIN article_topics AS y ON y.article_id = t.other_id AND y.topic = x.topic
    WHERE t.article_id < t.other_id
    GROUP BY x.topic
)
SELECT slug, name_en, name_es, articles - coalesce(shared.pairs, 0)
FROM topics LEFT JOIN shared ON shared.topic = topics.slug
ORDER BY position
"""
"""`COUNTS_SQL` on PostgreSQL, which has no CROSS JOIN … ON, and whose planner
chooses the order of the joins by their costs."""


async def counts(db: Database) -> list[TopicCount]:
    """Every topic in catalogue order with its number of stories: its articles,
    a pair of translations both on the topic counted once, as its view lists
    them (`COUNTS_SQL`)."""
    rows = await db.fetchall(COUNTS_SQL if db.dialect == "sqlite" else COUNTS_SQL_POSTGRESQL)
    return [TopicCount(row[0], row[1], row[2], row[3]) for row in rows]


async def article_texts(
    db: Database, *, after_id: int, limit: int
) -> list[tuple[int, str, tuple[str, ...]]]:
    """(id, title + summary, the source's categories) in id order, for
    re-tagging in batches; no categories for an article stored before they
    were kept (migration 0023)."""
    rows = await db.fetchall(
        "SELECT id, title || ' ' || summary, categories FROM articles"
        " WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    return [
        (row[0], row[1], tuple(row[2].split(CATEGORY_SEPARATOR)) if row[2] else ()) for row in rows
    ]


async def replace_tags(db: Database, tags: Mapping[int, Iterable[str]]) -> int:
    """Set the topics of these articles to exactly the given ones; rows changed."""
    changed = 0
    async with db.transaction() as tx:
        for article_id, slugs in tags.items():
            wanted = sorted(set(slugs))
            old = await (
                await tx.execute(
                    "SELECT topic FROM article_topics WHERE article_id = ? ORDER BY topic",
                    (article_id,),
                )
            ).fetchall()
            if [row[0] for row in old] == wanted:
                continue
            changed += 1
            await tx.execute("DELETE FROM article_topics WHERE article_id = ?", (article_id,))
            await tx.executemany(
                "INSERT INTO article_topics (article_id, topic) SELECT ?, slug FROM topics"
                " WHERE slug = ?",
                [(article_id, slug) for slug in wanted],
            )
    return changed
