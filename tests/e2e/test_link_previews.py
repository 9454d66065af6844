"""Which link Telegram previews, per message and per target; and what a channel
post says of an article's topics and source. End to end: the real bot, the
emulator (which keeps each message's `link_preview_options`), the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.digest.dispatch import dispatch_instant
from bot.emulator import Emulator, MessageRecord
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.services import Services
from bot.store import feeds, translations
from tests.harness import QUICK_LIMITS, Harness, bot_harness

ADMIN_ID = 4242
OFF = {"is_disabled": True}


@pytest.fixture
async def admin_harness(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    configured = settings.model_copy(update={"admin_ids": [ADMIN_ID]})
    emulator.add_user("Editor", user_id=ADMIN_ID)
    async with bot_harness(emulator, configured, limits=QUICK_LIMITS) as harness:
        yield harness


async def _publish(
    services: Services, *entries: Entry, feed_id: int | None = None, instant: bool = True
) -> None:
    await ingest(
        services.db,
        list(entries),
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
        feed_id=feed_id,
    )
    if instant:
        await dispatch_instant(services, services.now())


def _entry(n: int, title: str, **fields: object) -> Entry:
    return Entry(
        title=title,
        summary=f"About {title}.",
        url=f"https://example.org/story-{n}",
        **fields,  # type: ignore[arg-type]
    )


async def _digest(harness: Harness, chat_id: int, contains: str) -> MessageRecord:
    return await harness.emulator.wait_for_bot_message(
        chat_id, lambda m: contains in (m.text or ""), timeout=10
    )


def _first_listed(message: MessageRecord, urls_by_title: dict[str, str]) -> str:
    """The URL of the article whose title comes first in the message's text."""
    text = message.text or ""
    shown = sorted(
        (text.index(title), url) for title, url in urls_by_title.items() if title in text
    )
    return shown[0][1]


async def test_a_digest_previews_its_lead_article(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    await harness.say(user.id, user.id, "/subscribe migration")
    titles = {
        "Migrants stranded at the border": "https://example.org/story-1",
        "Asylum hearings resume for refugees": "https://example.org/story-2",
        "Deportation flights double": "https://example.org/story-3",
    }
    await _publish(
        harness.services,
        *(_entry(n, title) for n, title in enumerate(titles, start=1)),
        instant=False,
    )
    digest = await harness.say(user.id, user.id, "/digest")
    assert "Deportation flights double" in (digest.text or "")
    assert digest.link_preview_options == {
        "url": _first_listed(digest, titles),
        "prefer_large_media": True,
        "show_above_text": True,
    }


async def test_an_instant_message_of_one_article_previews_it(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    for command in ("/subscribe migration", "/settings digest instant"):
        await harness.say(user.id, user.id, command)
    await _publish(harness.services, _entry(7, "Migrants stranded at the border"))
    message = await _digest(harness, user.id, "Migrants stranded")
    assert message.link_preview_options == {
        "url": "https://example.org/story-7",
        "prefer_large_media": True,
    }


async def test_the_link_to_a_stories_other_version_is_not_previewed(harness: Harness) -> None:
    """A paired story is still a message of one article: its own link is
    previewed large, below, and the line naming its other version is no second
    article to lead with."""
    user = harness.emulator.add_user("Ann")
    for command in ("/subscribe migration", "/settings digest instant"):
        await harness.say(user.id, user.id, command)
    services = harness.services
    report = await ingest(
        services.db,
        [
            _entry(7, "Migrants stranded at the border", language="en"),
            _entry(8, "Migrantes varados en la frontera", language="es"),
        ],
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )
    english, spanish = report.new_ids
    outcome = await translations.link(
        services.db,
        english,
        spanish,
        how="manual",
        now=services.now(),
        replace={"text", "explicit", "manual"},
    )
    assert outcome in {"paired", "already"}
    await dispatch_instant(services, services.now())
    message = await _digest(harness, user.id, "Migrants stranded")
    assert "Migrantes varados" in (message.text or "")
    assert message.link_preview_options == {
        "url": "https://example.org/story-7",
        "prefer_large_media": True,
    }


async def test_a_list_of_search_results_previews_nothing(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    await _publish(
        harness.services,
        _entry(1, "Zebra crossings repainted"),
        _entry(2, "Zebra herds counted"),
        instant=False,
    )
    results = await harness.say(user.id, user.id, "/search zebra")
    assert "Zebra herds" in (results.text or "")
    assert results.link_preview_options == OFF


async def test_previews_off_for_a_target_turns_them_off_in_its_digests(harness: Harness) -> None:
    emulator = harness.emulator
    ann, bea = emulator.add_user("Ann"), emulator.add_user("Bea")
    for user in (ann, bea):
        for command in ("/subscribe migration", "/settings digest instant"):
            await harness.say(user.id, user.id, command)
    answer = await harness.say(ann.id, ann.id, "/settings previews off")
    assert "Saved: link previews off" in (answer.text or "")
    assert "Link previews: off" in (answer.text or "")
    # The same page for both, sent with the preview for one of them only.
    await _publish(harness.services, _entry(1, "Migrants stranded at the border"))
    assert (await _digest(harness, ann.id, "Migrants stranded")).link_preview_options == OFF
    on = await _digest(harness, bea.id, "Migrants stranded")
    assert on.link_preview_options == {
        "url": "https://example.org/story-1",
        "prefer_large_media": True,
    }

    answer = await harness.say(ann.id, ann.id, "/settings vistas si")
    assert "Link previews: on" in (answer.text or "")
    await _publish(harness.services, _entry(2, "Refugees reach the coast"))
    again = await _digest(harness, ann.id, "Refugees reach")
    assert again.link_preview_options is not None
    assert again.link_preview_options["url"] == "https://example.org/story-2"

    refused = await harness.say(ann.id, ann.id, "/settings previews maybe")
    assert "not a valid link previews" in (refused.text or "")


async def test_the_previews_setting_by_buttons(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    menu = await harness.say(user.id, user.id, "/settings")
    assert "Link previews: on" in (menu.text or "")
    await harness.press(menu, text="Link previews")
    await harness.button_shown(menu, "✓ on")
    await harness.press(menu, text="off")
    await harness.edited(menu, "Link previews: off")
    await harness.say(user.id, user.id, "/settings language es")
    reply = await harness.say(user.id, user.id, "/settings")
    assert "Vistas previas de enlaces: desactivadas" in (reply.text or "")


async def _instant_channel(harness: Harness, name: str, topic: str) -> int:
    emulator = harness.emulator
    admin = emulator.user(ADMIN_ID)
    channel = emulator.add_channel(
        name, username=name.lower(), admins=[admin.id], bot_status="member"
    )
    await harness.say(admin.id, admin.id, "/start")
    emulator.bot_membership_changed(channel.id, admin.id, "administrator")  # the bot made admin
    await emulator.wait_for_bot_message(admin.id, lambda m: name in (m.text or ""))
    await harness.say(admin.id, admin.id, f"/channel_subscribe @{name.lower()} {topic}")
    await harness.say(admin.id, admin.id, f"/channel_settings @{name.lower()} digest instant")
    return channel.id


async def test_a_feed_category_that_names_a_topic_becomes_its_hashtag(
    admin_harness: Harness,
) -> None:
    harness = admin_harness
    channel = await _instant_channel(harness, "Magazine", "migration")
    # Nothing in the text says migration: the feed files it under "Refugees".
    await _publish(
        harness.services, _entry(1, "A quiet night on the coast", categories=("Refugees",))
    )
    post = await _digest(harness, channel, "A quiet night")
    assert "#migration" in (post.text or "")
    assert post.link_preview_options == {
        "url": "https://example.org/story-1",
        "prefer_large_media": True,
    }


async def test_a_post_names_its_feed_only_when_the_bot_reads_several(
    admin_harness: Harness,
) -> None:
    harness = admin_harness
    services = harness.services
    channel = await _instant_channel(harness, "Magazine", "migration")
    first, _ = await feeds.add_feed(
        services.db, "https://news.example.org/rss", title="Border Desk", now=services.now()
    )
    await _publish(services, _entry(1, "Migrants stranded at the border"), feed_id=first.id)
    alone = await _digest(harness, channel, "Migrants stranded")
    assert "Border Desk" not in (alone.text or "")

    await feeds.add_feed(services.db, "https://other.example.net/feed.xml", now=services.now())
    await _publish(services, _entry(2, "Refugees reach the coast"), feed_id=first.id)
    named = await _digest(harness, channel, "Refugees reach")
    assert "📰 Border Desk" in (named.text or "")
    assert (named.text or "").index("Border Desk") < (named.text or "").index("#migration")
