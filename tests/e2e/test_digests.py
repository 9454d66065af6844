"""Digests from ingest to a reader's chat: the real bot, the emulator with
Telegram's limits enforced, the outbox and the sender; time moved by the test."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.digest.dispatch import dispatch_due, dispatch_instant
from bot.emulator import Emulator, FloodLimits
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.runtime import open_content
from bot.services import Services
from bot.store import articles, chats, subscriptions
from tests.harness import Harness, sender_of


class Clock:
    def __init__(self, moment: datetime):
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()


@pytest.fixture
async def clocked(emulator: Emulator, settings: Settings) -> AsyncIterator[tuple[Harness, Clock]]:
    emulator.enforce_limits = True
    clock = Clock(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, clock=clock, run_jobs=False)
    try:
        async with bot_on_emulator(emulator, settings, services=services) as app:
            yield Harness(emulator, services, app), clock
    finally:
        await content.db.close()


async def _new_article(services: Services, title: str, summary: str) -> None:
    report = await ingest(
        services.db,
        [Entry(title=title, summary=summary, url=f"https://example.org/{abs(hash(title))}")],
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )
    assert report.new == 1


async def test_instant_daily_and_non_matching(clocked: tuple[Harness, Clock]) -> None:
    harness, clock = clocked
    services = harness.services
    instant, daily, other = (harness.emulator.add_user(name) for name in ("In", "Da", "Ot"))
    for user, commands in (
        (instant, ["/subscribe migration", "/settings digest instant"]),
        (daily, ["/subscribe migrants", "/settings timezone America/Mexico_City"]),
        (other, ["/subscribe video", "/settings digest instant"]),
    ):
        for command in commands:
            await harness.say(user.id, user.id, command)

    await _new_article(services, "Migrants stranded at the border", "A report on migration.")
    await dispatch_instant(services, services.now())
    await dispatch_due(services, services.now())
    reached = await harness.emulator.wait_for_bot_message(
        instant.id, lambda m: "Migrants stranded" in (m.text or ""), timeout=10
    )
    assert (reached.text or "").startswith("🆕 New articles")

    mexico = ZoneInfo("America/Mexico_City")
    clock.set(datetime(2026, 11, 25, 7, 59, tzinfo=mexico))
    assert (await dispatch_due(services, services.now())).messages == 0
    for minute in (0, 1, 30):  # the job runs every minute: only the first run sends
        clock.set(datetime(2026, 11, 25, 8, minute, tzinfo=mexico))
        await dispatch_due(services, services.now())
        await dispatch_instant(services, services.now())
    digest = await harness.emulator.wait_for_bot_message(
        daily.id, lambda m: "Migrants stranded" in (m.text or ""), timeout=10
    )
    assert "daily digest" in (digest.text or "")
    assert "November 25, 2026" in (digest.text or "")
    await harness.sender.wait_empty()
    digests = [
        m for m in harness.emulator.bot_messages(daily.id) if "daily digest" in (m.text or "")
    ]
    assert len(digests) == 1
    assert not [m for m in harness.emulator.bot_messages(other.id) if "Migrants" in (m.text or "")]
    assert harness.emulator.stats().flood_429 == 0


async def _subscribers(
    services: Services, emulator: Emulator, count: int, rng: random.Random
) -> dict[int, set[str]]:
    """`count` private chats, each following 1-3 random topics, instant digests."""
    slugs = [topic.slug for topic in services.catalogue.topics]
    following: dict[int, set[str]] = {}
    for _ in range(count):
        user = emulator.add_user("Reader")
        await chats.save_chat(
            services.db, chat_id=user.id, type="private", title="Reader", now=services.now()
        )
        target = await chats.ensure_target(
            services.db, user.id, ui_language="en", timezone="UTC", now=services.now()
        )
        await chats.update_target(
            services.db, target.id, digest_mode="instant", next_digest_at=None
        )
        chosen = set(rng.sample(slugs, rng.randint(1, 3)))
        for slug in chosen:
            await subscriptions.add(services.db, target.id, "topic", slug, services.now())
        following[user.id] = chosen
    return following


async def _articles(services: Services, count: int, rng: random.Random) -> dict[str, str]:
    """`count` new articles, each about one or two topics; title → topics."""
    words = {
        "migration": "migrants",
        "womens-rights": "femicide",
        "government": "government",
        "students": "students",
        "imperialism": "imperialism",
        "history": "history",
        "marxism": "socialism",
        "video": "video",
    }
    made: dict[str, str] = {}
    entries = []
    for number in range(count):
        topic_words = rng.sample(sorted(words.values()), rng.randint(1, 2))
        title = f"Report {number}: {' and '.join(topic_words)}"
        made[title] = " ".join(topic_words)
        entries.append(
            Entry(
                title=title,
                summary=f"Article number {number}.",
                url=f"https://example.org/{number}",
            )
        )
    await ingest(
        services.db,
        entries,
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )
    return made


def _received_titles(emulator: Emulator, chat_id: int) -> list[str]:
    titles = []
    for message in emulator.bot_messages(chat_id):
        for line in (message.text or "").splitlines():
            number, _, title = line.partition(". ")
            if number.isdigit() and title.startswith("Report "):
                titles.append(title)
    return titles


async def test_a_thousand_subscribers_get_exactly_their_articles(
    emulator: Emulator, settings: Settings
) -> None:
    """Limits enforced (scaled ×10 so the test is quick): no 429, nobody misses or repeats."""
    emulator.enforce_limits = True
    emulator.limits = FloodLimits(per_bot_per_second=300, per_chat_interval=1.0)
    fast = settings.model_copy(update={"send_rate_per_second": 280.0, "digest_max_items": 200})
    rng = random.Random(7)
    content = await open_content(fast)
    services = Services(fast, content.db, content.catalogue, run_jobs=False)
    try:
        following = await _subscribers(services, emulator, 1000, rng)
        async with bot_on_emulator(emulator, fast, services=services) as app:
            made = await _articles(services, 200, rng)
            stored = await articles.latest(services.db, limit=400)
            topics_of = {article.title: set(article.topics) for article in stored}
            await dispatch_instant(services, services.now())
            await sender_of(app).wait_empty()
        for chat_id, chosen in following.items():
            expected = sorted(title for title in made if topics_of[title] & chosen)
            received = _received_titles(emulator, chat_id)
            assert len(received) == len(set(received)), f"{chat_id} got a duplicate"
            assert sorted(received) == expected, chat_id
        assert emulator.stats().flood_429 == 0
    finally:
        await content.db.close()
