"""A feed with images and whole articles, from the admin's /ingest to what readers
see: the real bot, the emulator's feed server and Bot API, HTTP on loopback.

One item arrives: the instant reader gets it as a photo with its caption and a
📖 Read button, and pressing it brings the article into the chat; the instant
channel gets a photo post with hashtags and no Read button. A second item
arrives: the daily reader's digest of both previews the article it leads with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

import pytest

from bot.config import Settings
from bot.digest.dispatch import dispatch_due
from bot.emulator import Emulator, MessageRecord
from bot.formatting import utf16_len
from bot.store import chats, feeds, subscriptions
from tests.harness import QUICK_LIMITS, Harness, bot_harness

ADMIN = 700_002
IMAGE = "https://images.example.org/{n}.jpg"
PARAGRAPHS = [f"Paragraph {i}: " + "families wait at the checkpoint. " * 40 for i in range(12)]


def rss(*numbers: int) -> str:
    items = "".join(
        f"<item><title>Migrants stranded at the border, day {n}</title>"
        f"<link>https://news.example.org/day-{n}</link><guid>day-{n}</guid>"
        f"<description>Families wait at the checkpoint for day {n}.</description>"
        f'<media:content url="{IMAGE.format(n=n)}" medium="image" width="1200" height="800"/>'
        "<content:encoded><![CDATA[<h2>At the border</h2>"
        + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
        + "<script>alert(1)</script>]]></content:encoded></item>"
        for n in numbers
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>News</title><link>https://news.example.org/</link>{items}"
        "</channel></rss>"
    )


@pytest.fixture
async def harness(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    settings = settings.model_copy(update={"admin_ids": [ADMIN]})
    emulator.add_user("Ada", user_id=ADMIN)
    async with bot_harness(emulator, settings, limits=QUICK_LIMITS) as harness:
        yield harness


async def follower(
    harness: Harness, chat_id: int, kind: Literal["private", "channel"], mode: str
) -> None:
    """A chat that follows migration, in `mode`."""
    services = harness.services
    now = services.now()
    await chats.save_chat(services.db, chat_id=chat_id, type=kind, title="Readers", now=now)
    target = await chats.ensure_target(
        services.db, chat_id, ui_language="en", timezone="UTC", now=now
    )
    await subscriptions.add(services.db, target.id, "topic", "migration", now)
    due = now - 1 if mode == "daily" else None
    await chats.update_target(services.db, target.id, digest_mode=mode, next_digest_at=due)


async def ingest(harness: Harness, *numbers: int) -> None:
    """The feed now holds these items; the admin asks for them."""
    harness.emulator.feeds.publish("news.xml", rss(*numbers))
    await harness.say(ADMIN, ADMIN, "/ingest")
    await harness.sender.wait_empty()


async def test_a_rich_feed_from_ingest_to_the_reader(harness: Harness) -> None:
    emulator, services = harness.emulator, harness.services
    reader = emulator.add_user("Reader")
    daily = emulator.add_user("Morning reader")
    channel = emulator.add_channel("Border news")
    await follower(harness, reader.id, "private", "instant")
    await follower(harness, daily.id, "private", "daily")
    await follower(harness, channel.id, "channel", "instant")
    url = emulator.feed_url("news.xml")
    await feeds.add_feed(services.db, url, now=services.now() + 3600)

    await ingest(harness, 1)

    [photo] = emulator.bot_messages(reader.id)
    assert photo.photo is not None
    assert photo.photo.source_url == IMAGE.format(n=1)
    caption = photo.caption or ""
    assert "Migrants stranded at the border, day 1" in caption
    assert utf16_len(caption) <= 1024
    assert any(e.url == "https://news.example.org/day-1" for e in photo.caption_entities)
    assert any("📖" in button["text"] for button in photo.buttons)

    [post] = emulator.bot_messages(channel.id)
    assert post.photo is not None
    assert "#migration" in (post.caption or "")
    assert not any("📖" in button["text"] for button in post.buttons)

    await harness.press(photo, text="📖")

    def article() -> list[MessageRecord] | None:
        found = emulator.bot_messages(reader.id)[1:]
        return found if found and "Paragraph 11" in (found[-1].text or "") else None

    parts = await emulator.wait_for(article)
    text = "\n\n".join(part.text or "" for part in parts)
    assert text.startswith("Migrants stranded at the border, day 1\n\nAt the border")
    assert [f"Paragraph {i}:" in text for i in range(12)] == [True] * 12
    assert text.index("Paragraph 3:") < text.index("Paragraph 4:")
    assert "alert(1)" not in text
    assert all(utf16_len(part.text or "") <= 4096 for part in parts)

    await ingest(harness, 1, 2)
    await dispatch_due(services, services.now())
    await harness.sender.wait_empty()

    [digest] = emulator.bot_messages(daily.id)
    body = digest.text or ""
    assert "day 1" in body
    assert "day 2" in body
    lead = (
        "https://news.example.org/day-2"
        if body.index("day 2") < body.index("day 1")
        else ("https://news.example.org/day-1")
    )
    options = digest.link_preview_options or {}
    assert options.get("url") == lead
    assert not options.get("is_disabled")
