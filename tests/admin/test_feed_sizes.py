"""/feed_add against a feed server, played by the emulator, that sends absurd sizes:
what is stored per article and per poll stays bounded."""

from __future__ import annotations

from bot.emulator import Emulator
from tests.admin.conftest import ADMIN
from tests.harness import Harness


def hostile_feed(extra_items: int) -> str:
    """One article of absurd sizes, then many small ones."""
    huge = (
        f"<item><title>{'Headline ' * 20_000}</title>"
        f"<link>https://example.org/{'a' * 10_000}</link>"
        f"<guid>{'g' * 5_000}</guid>"
        f"<description>{'Strike news. ' * 40_000}</description></item>"
    )
    small = "".join(
        f"<item><title>Note {n}</title><guid>n{n}</guid></item>" for n in range(extra_items)
    )
    channel = f"<channel><title>Big</title>{huge}{small}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


async def test_a_hostile_feed_cannot_store_megabytes_per_article(
    admin_harness: Harness, emulator: Emulator
) -> None:
    emulator.feeds.publish("big.xml", hostile_feed(extra_items=1_500))

    answer = await admin_harness.say(ADMIN, ADMIN, f"/feed_add {emulator.feed_url('big.xml')}")

    assert (answer.text or "").startswith("✅ Added feed #1"), answer.text
    assert "1,000 entries" in (answer.text or "")
    stored = await admin_harness.services.db.fetchall(
        "SELECT count(*), max(length(title)), max(length(summary)), max(length(url)),"
        " max(length(guid)) FROM articles WHERE feed_id = 1"
    )
    count, title, summary, url, guid = stored[0]
    assert count == 1_000  # the first thousand entries of the feed
    assert 290 < title <= 300  # cut at a word, with "…"
    assert 1_990 < summary <= 2_000
    assert url < 100
    assert guid <= 512
    huge = await admin_harness.services.db.fetchall(
        "SELECT title, summary, url FROM articles WHERE feed_id = 1 AND length(title) > 100"
    )
    assert len(huge) == 1
    assert huge[0][0].endswith("Headline…")
    assert huge[0][1].startswith("Strike news. Strike news.")
    assert huge[0][1].endswith(" Strike…")
    assert huge[0][2] is None  # a 10 kB link is no link
