"""What an article's age means to a reader: a feed's back catalogue is not news,
and an article whose date nobody knows shows none.

The real bot on the emulator, articles loaded the way an operator loads them
(`python -m bot ingest` of an RSS file; the bundled sample at first start), on
a real SQLite file; time moved by the test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from pydantic import ValidationError

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.digest import schedule
from bot.digest.dispatch import dispatch_due, dispatch_instant
from bot.emulator import Emulator
from bot.ingest.listing import read_listing
from bot.ingest.sources import ingest_location
from bot.runtime import open_content
from bot.services import Services
from bot.store import chats, subscriptions
from tests.conftest import SEED
from tests.harness import Harness, bot_harness

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)

# A feed added today whose items go back years: only the recent ones are news.
ITEMS = {
    "Migrants remembered, 2019": NOW.replace(year=2019),
    "Migrants three days on": NOW - timedelta(days=3),
    "Migrants this morning": NOW - timedelta(hours=1),
    "Migrants, undated": None,
}


def _rss(items: dict[str, datetime | None]) -> str:
    rows = []
    for number, (title, published) in enumerate(items.items()):
        date = f"<pubDate>{format_datetime(published)}</pubDate>" if published else ""
        rows.append(
            f"<item><title>{escape(title)}</title><link>https://example.org/{number}</link>"
            f"<guid>https://example.org/{number}</guid>{date}"
            f"<description>A report on migration.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Archive</title><link>https://example.org/</link>{''.join(rows)}"
        "</channel></rss>"
    )


async def _follower(
    services: Services, emulator: Emulator, mode: str, *, channel: bool = False, hour: int = 7
) -> int:
    """A chat (or channel) following the topic Migration with digests in `mode`
    (daily at `hour` UTC)."""
    chat = emulator.add_channel("Magazine") if channel else emulator.add_user("Reader")
    chat_id = chat.id
    now = int(NOW.timestamp())
    await chats.save_chat(
        services.db, chat_id=chat_id, type="channel" if channel else "private", title="R", now=now
    )
    target = await chats.ensure_target(
        services.db, chat_id, ui_language="en", timezone="UTC", now=now
    )
    changes: dict[str, str | int | None] = {"digest_mode": mode, "digest_minute": hour * 60}
    await schedule.change_settings(services.db, target, changes, now)
    await subscriptions.add(services.db, target.id, "topic", "migration", now)
    return chat_id


@pytest.mark.parametrize(
    ("max_age_days", "expected"),
    [
        (None, {"Migrants three days on", "Migrants this morning", "Migrants, undated"}),
        (2, {"Migrants this morning", "Migrants, undated"}),
    ],
)
async def test_a_back_catalogue_stays_out_of_every_digest(
    emulator: Emulator,
    settings: Settings,
    tmp_path: Path,
    max_age_days: int | None,
    expected: set[str],
) -> None:
    if max_age_days is not None:
        settings = settings.model_copy(update={"digest_max_age_days": max_age_days})
    content = await open_content(settings, seed=False)
    services = Services(
        settings, content.db, content.catalogue, clock=NOW.timestamp, run_jobs=False
    )
    try:
        async with bot_on_emulator(emulator, settings, services=services) as app:
            harness = Harness(emulator, services, app)
            instant = await _follower(services, emulator, "instant")
            channel = await _follower(services, emulator, "instant", channel=True)
            daily = await _follower(services, emulator, "daily")
            on_request = await _follower(services, emulator, "daily", hour=20)
            now = int(NOW.timestamp())
            await dispatch_due(services, now)  # schedules the daily ones: 07:00 UTC
            feed = tmp_path / "archive.xml"
            feed.write_text(_rss(ITEMS), encoding="utf-8")
            report = await ingest_location(
                services.db, services.catalogue, str(feed), settings=settings, now=now
            )
            assert report.new == len(ITEMS)  # all stored and searchable, whatever their age

            await dispatch_instant(services, now)
            await dispatch_due(services, now + 3600)
            await harness.say(on_request, on_request, "/digest")  # before its 20:00 digest
            await harness.sender.wait_empty()

            for chat_id in (instant, channel, daily, on_request):
                text = "\n".join(m.text or "" for m in emulator.bot_messages(chat_id))
                shown = {title for title in ITEMS if title in text}
                assert shown == expected, (chat_id, text)
            assert len(emulator.bot_messages(channel)) == len(expected)  # a post per article
    finally:
        await content.db.close()


@pytest.mark.parametrize("value", ["0", "-1", "abc"])
def test_the_age_limit_must_be_a_positive_number_of_days(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_MAX_AGE_DAYS", value)
    with pytest.raises(ValidationError, match="digest_max_age_days"):
        Settings(_env_file=None)  # type: ignore[call-arg]


_DATE = re.compile(r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b")  # "Nov 25, 2026", Babel's medium date


@pytest.fixture
async def seeded(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    """The bot as a new install meets it: an empty database, the sample loaded."""
    async with bot_harness(emulator, settings) as harness:
        yield harness


async def test_the_undated_sample_shows_no_date_and_keeps_its_order(
    seeded: Harness, tmp_path: Path
) -> None:
    harness = seeded
    services = harness.services
    sample = [entry.title for entry in read_listing(SEED)]
    assert all(entry.published_at is None for entry in read_listing(SEED))
    now = int(services.now())
    feed = tmp_path / "feed.xml"
    fresh = datetime.fromtimestamp(now, UTC) + timedelta(hours=1)
    feed.write_text(
        _rss({"Migrants reach the border": fresh, "Migrants remembered, 2019": NOW.replace(2019)})
    )
    await ingest_location(
        services.db, services.catalogue, str(feed), settings=services.settings, now=now + 7200
    )
    user = harness.emulator.add_user("New")

    latest = await harness.say(user.id, user.id, "/latest")
    text = latest.text or ""
    # The sample's Juárez story is in both languages: one item, in the reader's English.
    listed = [title for title in sample[:4] if not title.startswith("La muerte de Migrantes")]
    positions = [text.find(title) for title in ["Migrants reach the border", *listed]]
    assert -1 not in positions, text
    assert positions == sorted(positions), text  # a dated article by its date, the sample as listed
    assert "Migrants remembered" not in text  # published years before the sample arrived
    dates = _DATE.findall(text)
    assert dates == [datetime.fromtimestamp(fresh.timestamp(), UTC).strftime("%b %-d, %Y")], text

    found = await harness.say(user.id, user.id, "/search Ciudad Juárez")
    assert "Ciudad Juárez" in (found.text or "")
    assert not _DATE.findall(found.text or ""), found.text
