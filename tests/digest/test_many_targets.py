"""1,000 targets with random subscriptions against a brute-force oracle."""

from __future__ import annotations

import json
import random
import re

from bot.digest.dispatch import dispatch_due, dispatch_instant, more_page
from bot.services import Services
from bot.store.chats import get_target_by_id
from bot.store.db import Database
from tests.digest.helpers import SLUGS, add_articles

NOW = 1_750_000_000
TARGETS = 1_000
ARTICLES = 200
# Distinct made-up words, so matching a keyword is "the word is in the title".
WORDS = ["zebra", "okapi", "quokka", "narwhal", "axolotl", "pangolin", "tapir", "wombat"]
LINK = re.compile(r'href="https://example\.org/(\d+)"')
MORE = re.compile(r"and (\d+) more")


async def create_targets(db: Database, rng: random.Random) -> dict[int, dict[str, object]]:
    """Targets straight into the tables (faster than one transaction each)."""
    plans: dict[int, dict[str, object]] = {}
    async with db.transaction() as tx:
        for chat_id in range(1, TARGETS + 1):
            await tx.execute(
                "INSERT INTO chats (chat_id, type, created_at, updated_at)"
                " VALUES (?, 'private', 0, 0)",
                (chat_id,),
            )
            mode = rng.choice(["daily", "instant"])
            language = rng.choice([None, None, "en", "es"])
            cursor = await tx.execute(
                "INSERT INTO targets (chat_id, digest_mode, article_language, next_digest_at,"
                " created_at) VALUES (?, ?, ?, ?, 0) RETURNING id",
                (chat_id, mode, language, NOW - 60 if mode == "daily" else None),
            )
            target_id = int((await cursor.fetchone())[0])
            topics = rng.sample(SLUGS, rng.choice([0, 0, 1, 1, 2]))
            words = rng.sample(WORDS, rng.choice([0, 1, 1, 2]))
            await tx.executemany(
                "INSERT INTO subscriptions (target_id, kind, value, created_at)"
                " VALUES (?, ?, ?, 0)",
                [(target_id, "topic", slug) for slug in topics]
                + [
                    (target_id, "query", word.upper() if rng.random() < 0.3 else word)
                    for word in words
                ],
            )
            plans[target_id] = {"topics": set(topics), "words": set(words), "language": language}
    return plans


async def test_every_target_gets_exactly_its_matching_articles(services: Services) -> None:
    rng = random.Random(20250602)
    db = services.db
    plans = await create_targets(db, rng)
    items = []
    for i in range(ARTICLES):
        title_words = rng.sample(WORDS, rng.choice([0, 0, 1, 2]))
        title = " ".join(["Report", str(i), *title_words])
        topics = rng.sample(SLUGS, rng.choice([0, 1, 1, 2]))
        items.append((title, topics, set(title_words), rng.choice(["en", "es"])))
    ids: list[int] = []
    for language in ("en", "es"):
        ids += await add_articles(
            db,
            [(title, "", topics) for title, topics, _, lang in items if lang == language],
            now=NOW - 1_000,
            language=language,
        )
    assert len(ids) == ARTICLES
    # add_articles numbers URLs itself; map them back to ids through the store.
    url_of = {
        row["id"]: int(row["url"].rsplit("/", 1)[1])
        for row in await db.fetchall("SELECT id, url FROM articles")
    }
    article_of_url = {url: article_id for article_id, url in url_of.items()}
    facts = {}
    for article_id, (_, topics, words, language) in zip(
        ids, [i for lang in ("en", "es") for i in items if i[3] == lang], strict=True
    ):
        facts[article_id] = (set(topics), words, language)

    def oracle(plan: dict[str, object]) -> set[int]:
        return {
            article_id
            for article_id, (topics, words, language) in facts.items()
            if plan["language"] in (None, language)
            and (topics & plan["topics"] or words & plan["words"])  # type: ignore[operator]
        }

    due = await dispatch_due(services, NOW)
    instant = await dispatch_instant(services, NOW)
    assert due.targets + instant.targets == TARGETS
    assert due.failed == instant.failed == 0

    found = await db.fetchall(
        "SELECT target_id, chat_id, request AS payload FROM outbox_requests ORDER BY id"
    )
    listed: dict[int, list[int]] = {}
    more: dict[int, int] = {}
    buttons: dict[int, str] = {}
    for row in found:
        payload = json.loads(row["payload"])
        target_id = row["target_id"]
        listed.setdefault(target_id, []).extend(
            article_of_url[int(url)] for url in LINK.findall(payload["text"])
        )
        if match := MORE.search(payload["text"]):
            more[target_id] = int(match[1])
            buttons[target_id] = payload["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    checked_pages = 0
    for target_id, plan in plans.items():
        expected = oracle(plan)
        got = listed.get(target_id, [])
        assert len(got) == len(set(got))
        assert set(got) <= expected, target_id
        assert len(got) + more.get(target_id, 0) == len(expected), target_id
        assert len(got) == min(len(expected), services.settings.digest_max_items)
        if target_id in buttons and checked_pages < 40:
            checked_pages += 1
            data: str | None = buttons[target_id]
            everything = list(got)
            while data is not None:
                pressed_in = await get_target_by_id(db, target_id)
                assert pressed_in is not None
                page = await more_page(services, data, pressed_in=pressed_in, now=NOW)
                assert page
                data = None
                for message in page:
                    everything += [article_of_url[int(u)] for u in LINK.findall(message.text)]
                    if message.reply_markup is not None:
                        data = message.reply_markup["inline_keyboard"][0][0]["callback_data"]
            assert sorted(everything) == sorted(expected), target_id
    assert checked_pages == 40
    # Running again sends nothing more.
    await dispatch_due(services, NOW + 60)
    await dispatch_instant(services, NOW + 60)
    assert await db.fetchval("SELECT count(*) FROM outbox") == len(found)
