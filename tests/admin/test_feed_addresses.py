"""/feed_add against hostile feed servers played by the emulator: a redirect into
the private network, a private address typed directly. Nothing private is ever
asked, and an admin learns nothing about which internal ports answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.emulator import Emulator
from bot.store import articles, feeds
from tests.admin.conftest import ADMIN, closed_port, running
from tests.harness import Harness

INTERNAL_FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Internal</title>
<item><title>Database credentials</title><description>root:hunter2</description>
<guid>internal-1</guid></item>
</channel></rss>"""

PRIVATE = "is a private address; set FEED_ALLOWED_HOSTS to allow it"


@pytest.fixture
async def localhost_harness(emulator: Emulator, admin_settings: Settings) -> AsyncIterator[Harness]:
    """The operator allows one private source by name, `localhost` — not 127.0.0.1."""
    settings = admin_settings.model_copy(update={"feed_allowed_hosts": ["localhost"]})
    async with running(emulator, settings) as harness:
        yield harness


async def assert_nothing_stored(harness: Harness, before: int) -> None:
    db = harness.services.db
    assert await feeds.list_feeds(db, include_removed=True) == []
    assert await articles.count(db) == before


async def test_a_redirect_into_the_private_network_is_refused_before_connecting(
    localhost_harness: Harness, emulator: Emulator
) -> None:
    harness = localhost_harness
    before = await articles.count(harness.services.db)
    emulator.feeds.publish("internal.xml", INTERNAL_FEED)
    emulator.feeds.redirect("public.xml", emulator.feed_url("internal.xml"))  # 127.0.0.1

    url = emulator.feed_url("public.xml", host="localhost")
    answer = await harness.say(ADMIN, ADMIN, f"/feed_add {url}")

    assert answer.text == f"❌ Not added: 127.0.0.1 {PRIVATE}"
    assert emulator.feeds.hits == {"public.xml": 1}  # the internal endpoint was never asked
    await assert_nothing_stored(harness, before)


async def test_the_allowed_name_itself_is_fetched(
    localhost_harness: Harness, emulator: Emulator
) -> None:
    emulator.feeds.publish("internal.xml", INTERNAL_FEED)

    url = emulator.feed_url("internal.xml", host="localhost")
    answer = await localhost_harness.say(ADMIN, ADMIN, f"/feed_add {url}")

    assert (answer.text or "").startswith("✅ Added feed #1"), answer.text


async def test_a_private_address_answers_the_same_whether_a_port_is_open_or_not(
    emulator: Emulator, admin_settings: Settings
) -> None:
    """With nothing allowed, an admin cannot learn which internal ports answer:
    no connection is made, so an open and a closed port read the same."""
    settings = admin_settings.model_copy(update={"feed_allowed_hosts": []})
    emulator.feeds.publish("internal.xml", INTERNAL_FEED)
    async with running(emulator, settings) as harness:
        before = await articles.count(harness.services.db)
        open_port = await harness.say(
            ADMIN, ADMIN, f"/feed_add {emulator.feed_url('internal.xml')}"
        )
        closed = await harness.say(
            ADMIN, ADMIN, f"/feed_add http://127.0.0.1:{closed_port()}/feeds/internal.xml"
        )
        metadata = await harness.say(
            ADMIN, ADMIN, "/feed_add http://169.254.169.254/latest/meta-data/"
        )

        assert open_port.text == closed.text == f"❌ Not added: 127.0.0.1 {PRIVATE}"
        assert metadata.text == f"❌ Not added: 169.254.169.254 {PRIVATE}"
        assert emulator.feeds.hits == {}
        await assert_nothing_stored(harness, before)
