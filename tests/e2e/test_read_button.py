"""📖 Read end to end through the emulator: an RSS item that carries the whole
article (content:encoded) reaches an instant reader with a Read button, and
pressing it delivers the text inside the chat, in order, split under
Telegram's limit with its formatting kept; a summary-only item gets no button,
and forged presses get a short answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.digest.dispatch import dispatch_instant
from bot.emulator import Emulator, MessageRecord
from bot.formatting import utf16_len
from bot.ingest.parse import parse_feed
from bot.ingest.pipeline import ingest
from bot.reader.reading import read
from bot.store import chats, subscriptions
from tests.harness import QUICK_LIMITS, Harness, bot_harness

FEED = "https://example.org/feed"


@pytest.fixture
async def quick(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    async with bot_harness(emulator, settings, limits=QUICK_LIMITS) as harness:
        yield harness


def _rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>Magazine</title><link>https://example.org/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _item(n: int, content: str | None) -> str:
    body = "" if content is None else f"<content:encoded><![CDATA[{content}]]></content:encoded>"
    return (
        f"<item><title>Migration report {n}</title><link>https://example.org/story-{n}</link>"
        f"<guid>story-{n}</guid><description>Families wait at the migration checkpoint {n}."
        f"</description>{body}</item>"
    )


# About 14,000 characters in 40 numbered paragraphs, emoji among them (two UTF-16
# units each): several messages.
PARAGRAPHS = [
    f"Section {i} 🧭 " + " ".join(f"migration{j}🙂" for j in range(30)) for i in range(40)
]
ARTICLE = (
    "<h2>At the border</h2><p>Families <strong>wait</strong> at the "
    '<a href="https://example.org/checkpoint">checkpoint</a>.</p>'
    "<ul><li>first point</li><li>second point</li></ul>"
    "<blockquote>We have waited for weeks.</blockquote>"
    "<script>alert(1)</script>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
)


async def _reader(harness: Harness) -> int:
    user = harness.emulator.add_user("Reader")
    services = harness.services
    now = services.now()
    await chats.save_chat(services.db, chat_id=user.id, type="private", title="Reader", now=now)
    target = await chats.ensure_target(
        services.db, user.id, ui_language="en", timezone="UTC", now=now
    )
    await subscriptions.add(services.db, target.id, "topic", "migration", now)
    await chats.update_target(services.db, target.id, digest_mode="instant", next_digest_at=None)
    return user.id


async def _publish(harness: Harness, feed: bytes) -> None:
    services = harness.services
    parsed = parse_feed(feed, url=FEED)
    await ingest(
        services.db,
        list(parsed.entries),
        source=FEED,
        catalogue=services.catalogue,
        now=services.now(),
    )
    await dispatch_instant(services, services.now())
    await harness.sender.wait_empty()


def _covered(message: MessageRecord, kind: str) -> list[str]:
    raw = (message.text or "").encode("utf-16-le")
    return [
        raw[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le")
        for e in message.entities
        if e.type == kind
    ]


async def test_read_delivers_the_full_text_in_order(quick: Harness) -> None:
    chat = await _reader(quick)
    await _publish(quick, _rss(_item(1, ARTICLE)))
    [digest] = quick.emulator.bot_messages(chat)
    assert "Migration report 1" in (digest.text or "")
    assert any("📖 Read" in b["text"] for b in digest.buttons)

    row = await quick.services.db.fetchone(
        "SELECT id FROM articles WHERE url = ?", ("https://example.org/story-1",)
    )
    assert row is not None
    expected = await read(quick.services.db, row[0], language="en", max_parts=10)
    assert expected is not None
    assert len(expected) > 2

    await quick.press(digest, text="📖 Read")
    parts = await quick.emulator.wait_for(
        lambda: (
            found[1:] if len(found := quick.emulator.bot_messages(chat)) > len(expected) else None
        )
    )
    assert [p.text for p in parts] == [part.text for part in expected]
    assert all(utf16_len(p.text or "") <= 4096 for p in parts)
    first = parts[0]
    assert (first.text or "").startswith("Migration report 1\n\nAt the border\n\nFamilies wait")
    assert "alert(1)" not in "".join(p.text or "" for p in parts)
    assert _covered(first, "bold")[:3] == ["Migration report 1", "At the border", "wait"]
    assert _covered(first, "blockquote") == ["We have waited for weeks."]
    assert "• first point\n• second point" in (first.text or "")
    links = [e.url for e in first.entities if e.type == "text_link"]
    assert links == ["https://example.org/story-1", "https://example.org/checkpoint"]
    # Every paragraph once, in order, each whole in one message.
    sections = [
        line.split(" ")[1]
        for p in parts
        for line in (p.text or "").split("\n\n")
        if line.startswith("Section ")
    ]
    assert sections == [str(i) for i in range(40)]


async def test_a_summary_only_item_has_no_read_button(quick: Harness) -> None:
    chat = await _reader(quick)
    await _publish(quick, _rss(_item(2, None)))
    [digest] = quick.emulator.bot_messages(chat)
    assert "Migration report 2" in (digest.text or "")
    assert not any("📖" in b["text"] for b in digest.buttons)


async def test_several_articles_in_one_message_have_no_read_button(quick: Harness) -> None:
    chat = await _reader(quick)
    await _publish(quick, _rss(_item(3, ARTICLE), _item(4, ARTICLE)))
    [digest] = quick.emulator.bot_messages(chat)
    assert not any("📖" in b["text"] for b in digest.buttons)


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        ("rd:abc", "This button has expired"),
        ("rd:999999", "This article has no full text to read here."),
        ("rd:", "This button has expired"),
    ],
)
async def test_forged_presses_get_a_short_answer(quick: Harness, data: str, answer: str) -> None:
    chat = await _reader(quick)
    await _publish(quick, _rss(_item(5, None)))
    [digest] = quick.emulator.bot_messages(chat)
    query = quick.emulator.press_button(chat, digest.message_id, forged_data=data)
    await quick.emulator.wait_for_callback_answer(query)
    assert (quick.emulator.callback_answer(query).text or "").startswith(answer)
    assert len(quick.emulator.bot_messages(chat)) == 1


async def test_an_article_without_a_full_text_is_not_read(quick: Harness) -> None:
    chat = await _reader(quick)
    await _publish(quick, _rss(_item(6, None)))
    [digest] = quick.emulator.bot_messages(chat)
    row = await quick.services.db.fetchone(
        "SELECT id FROM articles WHERE url = ?", ("https://example.org/story-6",)
    )
    assert row is not None
    query = quick.emulator.press_button(chat, digest.message_id, forged_data=f"rd:{row[0]}")
    await quick.emulator.wait_for_callback_answer(query)
    assert quick.emulator.callback_answer(query).text == (
        "This article has no full text to read here."
    )
    assert len(quick.emulator.bot_messages(chat)) == 1


async def test_a_channel_post_offers_no_read_button(quick: Harness) -> None:
    # Pressing it would make the bot post the whole article in the channel at
    # any reader's request.
    channel = quick.emulator.add_channel("Magazine")
    services = quick.services
    now = services.now()
    await chats.save_chat(services.db, chat_id=channel.id, type="channel", title="M", now=now)
    target = await chats.ensure_target(
        services.db, channel.id, ui_language="en", timezone="UTC", now=now
    )
    await subscriptions.add(services.db, target.id, "topic", "migration", now)
    await chats.update_target(services.db, target.id, digest_mode="instant", next_digest_at=None)
    await _publish(quick, _rss(_item(7, ARTICLE)))
    [post] = quick.emulator.bot_messages(channel.id)
    assert "Migration report 7" in (post.text or "")
    assert not any("📖" in b["text"] for b in post.buttons)


async def test_a_photo_message_offers_read_too(quick: Harness) -> None:
    chat = await _reader(quick)
    item = _item(8, ARTICLE).replace(
        "</item>",
        '<media:content url="https://images.example.org/8.jpg" medium="image"'
        ' width="800" height="600"/></item>',
    )
    feed = _rss(item).replace(
        b'xmlns:content="', b'xmlns:media="http://search.yahoo.com/mrss/" xmlns:content="'
    )
    await _publish(quick, feed)
    [digest] = quick.emulator.bot_messages(chat)
    assert digest.photo is not None
    await quick.press(digest, text="📖 Read")
    first = await quick.emulator.wait_for(
        lambda: found[1] if len(found := quick.emulator.bot_messages(chat)) > 1 else None
    )
    assert (first.text or "").startswith("Migration report 8\n\nAt the border")
