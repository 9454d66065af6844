"""Articles with a lead image reach instant channels and readers as photos, end
to end through the emulator: the caption within Telegram's 1,024 limit with the
link kept, the text version when Telegram refuses the image's URL (one message,
the row sent once), and today's text messages for articles without an image.
Long summaries in digests are folded in an expandable quote."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.digest.dispatch import dispatch_instant
from bot.emulator import Emulator
from bot.formatting import CAPTION_LIMIT, utf16_len
from bot.ingest.entry import Entry, Image
from bot.ingest.pipeline import ingest
from bot.services import Services
from bot.store import chats, subscriptions
from bot.store.chats import ChatType
from tests.harness import QUICK_LIMITS, Harness, bot_harness

PICTURE = "https://images.example.org/lead.jpg"


@pytest.fixture
async def quick(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    # The emulator does not enforce limits here: no need to wait 3 s per channel post.
    async with bot_harness(emulator, settings, limits=QUICK_LIMITS) as harness:
        yield harness


async def _instant(services: Services, chat_id: int, kind: ChatType) -> None:
    """`chat_id` follows migration instantly."""
    now = services.now()
    await chats.save_chat(services.db, chat_id=chat_id, type=kind, title="Chat", now=now)
    target = await chats.ensure_target(
        services.db, chat_id, ui_language="en", timezone="UTC", now=now
    )
    await subscriptions.add(services.db, target.id, "topic", "migration", now)
    await chats.update_target(services.db, target.id, digest_mode="instant", next_digest_at=None)


async def _publish(harness: Harness, *entries: Entry) -> None:
    services = harness.services
    await ingest(
        services.db,
        list(entries),
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )
    await dispatch_instant(services, services.now())
    await harness.sender.wait_empty()


def _entry(n: int, *, summary: str = "", image: str | None = PICTURE, title: str = "") -> Entry:
    return Entry(
        title=title or f"Migrants stranded at the border, report {n}",
        summary=summary or f"Families wait at the migration checkpoint {n}.",
        url=f"https://example.org/story-{n}",
        image=None if image is None else Image(image, 800, 600),
    )


async def _rows(services: Services) -> list[tuple[str, str, int]]:
    rows = await services.db.fetchall("SELECT method, state, attempts FROM outbox ORDER BY id")
    return [(row[0], row[1], row[2]) for row in rows]


async def test_a_channel_post_with_an_image_is_a_photo_with_its_caption(quick: Harness) -> None:
    channel = quick.emulator.add_channel("Magazine")
    await _instant(quick.services, channel.id, "channel")
    await _publish(quick, _entry(1))
    [post] = quick.emulator.bot_messages(channel.id)
    assert post.photo is not None
    assert post.photo.source_url == PICTURE
    assert post.text is None
    caption = post.caption or ""
    assert caption.startswith("Migrants stranded at the border, report 1")
    assert "Families wait at the migration checkpoint 1." in caption
    assert "#migration" in caption
    links = [e.url for e in post.caption_entities if e.type == "text_link"]
    assert links
    assert set(links) == {"https://example.org/story-1"}
    assert await _rows(quick.services) == [("sendPhoto", "sent", 1)]


async def test_a_long_summary_is_cut_to_fit_the_caption_with_the_link_kept(
    quick: Harness,
) -> None:
    channel = quick.emulator.add_channel("Magazine")
    await _instant(quick.services, channel.id, "channel")
    # Emoji count twice in Telegram's UTF-16 units; a long title leaves less room.
    summary = " ".join(f"migration😀{n}" for n in range(300))  # about 3,000 characters
    title = "Migration " + "headline " * 40
    await _publish(quick, _entry(2, summary=summary, title=title))
    [post] = quick.emulator.bot_messages(channel.id)
    assert post.photo is not None
    caption = post.caption or ""
    assert utf16_len(caption) <= CAPTION_LIMIT
    assert "…" in caption
    assert caption.rstrip().endswith("#migration")
    assert "https://example.org/story-2" in caption  # the link line, kept
    assert any(e.type == "expandable_blockquote" for e in post.caption_entities)


@pytest.mark.parametrize("refusal", ["unreachable", "wrong_identifier", "wrong_type"])
async def test_a_refused_image_sends_the_text_version_once(quick: Harness, refusal: str) -> None:
    quick.emulator.refuse_photo_url(PICTURE, refusal)
    channel = quick.emulator.add_channel("Magazine")
    reader = quick.emulator.add_user("Reader")
    await _instant(quick.services, channel.id, "channel")
    await _instant(quick.services, reader.id, "private")
    await _publish(quick, _entry(3))
    for chat in (channel.id, reader.id):
        [message] = quick.emulator.bot_messages(chat)
        assert message.photo is None
        assert "Migrants stranded at the border, report 3" in (message.text or "")
    assert await _rows(quick.services) == [("sendPhoto", "sent", 1)] * 2
    assert quick.sender.photo_fallbacks == 2
    assert quick.sender.counts["sent"] == 2
    refused = [r for r in quick.emulator.calls("sendPhoto") if not r.ok]
    assert len(refused) == 2


async def test_articles_without_an_image_go_as_text_as_before(quick: Harness) -> None:
    channel = quick.emulator.add_channel("Magazine")
    reader = quick.emulator.add_user("Reader")
    await _instant(quick.services, channel.id, "channel")
    await _instant(quick.services, reader.id, "private")
    await _publish(quick, _entry(4, image=None))
    for chat in (channel.id, reader.id):
        [message] = quick.emulator.bot_messages(chat)
        assert message.photo is None
        assert "Migrants stranded at the border, report 4" in (message.text or "")
    assert quick.emulator.calls("sendPhoto") == []
    assert [method for method, _, _ in await _rows(quick.services)] == ["sendMessage"] * 2


async def test_an_instant_digest_of_one_article_with_an_image_is_a_photo(quick: Harness) -> None:
    reader = quick.emulator.add_user("Reader")
    await _instant(quick.services, reader.id, "private")
    await _publish(quick, _entry(5))
    [photo] = quick.emulator.bot_messages(reader.id)
    assert photo.photo is not None
    assert photo.photo.source_url == PICTURE
    assert "Migrants stranded at the border, report 5" in (photo.caption or "")
    links = [e.url for e in photo.caption_entities if e.type == "text_link"]
    assert links == ["https://example.org/story-5"]

    # Two articles at once: one digest as text, as before.
    await _publish(quick, _entry(6), _entry(7))
    latest = quick.emulator.bot_messages(reader.id)[1:]
    assert len(latest) == 1
    assert latest[0].photo is None
    assert "report 6" in (latest[0].text or "")
    assert "report 7" in (latest[0].text or "")


async def test_long_summaries_in_a_digest_are_folded(quick: Harness) -> None:
    reader = quick.emulator.add_user("Reader")
    await _instant(quick.services, reader.id, "private")
    long = "Migration officials described the new checkpoint rules at length. " * 6
    await _publish(quick, _entry(8, summary=long, image=None), _entry(9, image=None))
    [digest] = quick.emulator.bot_messages(reader.id)
    folded = [e for e in digest.entities if e.type == "expandable_blockquote"]
    assert len(folded) == 1  # the long summary only; the short one reads as a line
    units = (digest.text or "").encode("utf-16-le")  # offsets count UTF-16 units
    start, end = 2 * folded[0].offset, 2 * (folded[0].offset + folded[0].length)
    quoted = units[start:end].decode("utf-16-le")
    assert quoted.startswith("Migration officials described")
