"""Building blocks for digest tests: a real database, articles, chats and targets."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from pathlib import Path

from bot.config import DATA_DIR
from bot.ingest.entry import Entry
from bot.ingest.pipeline import prepare
from bot.runtime import sync_catalogue
from bot.store import articles, chats, subscriptions
from bot.store.chats import Target
from bot.store.db import Database
from bot.topics import Catalogue, load_catalogue

CATALOGUE = load_catalogue(DATA_DIR / "topics.toml")
SLUGS = [topic.slug for topic in CATALOGUE.topics]
_SERIAL = itertools.count(1)


async def open_db(path: Path, catalogue: Catalogue = CATALOGUE) -> Database:
    db = await Database.open(path)
    await sync_catalogue(db, catalogue)
    return db


async def add_articles(
    db: Database,
    items: Sequence[tuple[str, str, Sequence[str]]],
    *,
    now: int = 1_000,
    language: str = "en",
) -> list[int]:
    """Store (title, summary, topic slugs) articles with exactly those topics."""
    prepared = [
        dataclasses.replace(
            prepare(
                Entry(title=title, summary=summary, url=f"https://example.org/{next(_SERIAL)}"),
                source="test",
                catalogue=CATALOGUE,
                now=now,
                position=index,
            ),
            topics=tuple(topics),
            language=language,
        )
        for index, (title, summary, topics) in enumerate(items)
    ]
    return await articles.insert(db, prepared)


async def add_article(
    db: Database,
    title: str,
    topics: Sequence[str] = (),
    *,
    summary: str = "",
    now: int = 1_000,
    language: str = "en",
) -> int:
    [article_id] = await add_articles(db, [(title, summary, topics)], now=now, language=language)
    return article_id


async def add_target(
    db: Database,
    chat_id: int,
    *,
    now: int = 0,
    thread_id: int = 0,
    topics: Sequence[str] = (),
    queries: Sequence[str] = (),
    timezone: str = "UTC",
    **settings: object,
) -> Target:
    """A private chat (or forum topic) with a target, its settings and subscriptions."""
    await chats.save_chat(
        db,
        chat_id=chat_id,
        type="private" if chat_id > 0 else "supergroup",
        title=None,
        is_forum=thread_id != 0,
        now=now,
    )
    target = await chats.ensure_target(
        db, chat_id, thread_id, ui_language="en", timezone=timezone, now=now
    )
    for slug in topics:
        await subscriptions.add(db, target.id, "topic", slug, now)
    for text in queries:
        await subscriptions.add(db, target.id, "query", text, now)
    if settings:
        # Unscheduled, as a target made by an import: the first run schedules it at its `now`.
        target = await chats.update_target(db, target.id, **{"next_digest_at": None, **settings})
    return target
