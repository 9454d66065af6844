"""Channels and forum topics as digest targets, end to end through the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.delivery.limits import Limits
from bot.digest.dispatch import dispatch_instant
from bot.emulator import Emulator, FloodLimits, MessageRecord
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.runtime import open_content
from bot.services import Services
from bot.store import chats, subscriptions
from tests.harness import QUICK_LIMITS, Harness, bot_harness, eventually, sender_of

ADMIN_ID = 4242


@pytest.fixture
async def admin_harness(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    configured = settings.model_copy(update={"admin_ids": [ADMIN_ID]})
    emulator.add_user("Editor", user_id=ADMIN_ID)  # gets the admin menu at start-up
    # The emulator does not enforce limits here: no need to wait 3 s per group message.
    async with bot_harness(emulator, configured, limits=QUICK_LIMITS) as harness:
        yield harness


async def _publish(services: Services, *titles: str) -> None:
    entries = [
        Entry(title=title, summary=f"About {title}.", url=f"https://example.org/{n}")
        for n, title in enumerate(titles)
    ]
    await ingest(
        services.db,
        entries,
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )
    await dispatch_instant(services, services.now())


def _posts(emulator: Emulator, chat_id: int, thread_id: int | None = None) -> list[MessageRecord]:
    return [m for m in emulator.bot_messages(chat_id, thread_id=thread_id) if m.text]


async def test_channel_added_configured_and_posted_to(admin_harness: Harness) -> None:
    harness = admin_harness
    emulator = harness.emulator
    admin = emulator.user(ADMIN_ID)
    stranger = emulator.add_user("Stranger")
    channel = emulator.add_channel(
        "Magazine", username="magazine", admins=[admin.id, stranger.id], bot_status="member"
    )
    await harness.say(admin.id, admin.id, "/start")

    emulator.bot_membership_changed(channel.id, admin.id, "administrator")
    told = await emulator.wait_for_bot_message(admin.id, lambda m: "Magazine" in (m.text or ""))
    assert "/channel_subscribe @magazine" in (told.text or "")

    refused = await harness.say(stranger.id, stranger.id, "/channel_subscribe @magazine migration")
    assert refused.text == "⛔ This command is for the bot's admins."
    reply = await harness.say(admin.id, admin.id, "/channel_subscribe @magazine migration")
    assert "Subscribed to Migration" in (reply.text or "")
    reply = await harness.say(admin.id, admin.id, "/channel_settings 1 digest instant")
    assert "Digest: instant" in (reply.text or "")
    helped = await harness.say(admin.id, admin.id, "/help")
    assert "/channel_subscribe" in (helped.text or "")
    helped = await harness.say(stranger.id, stranger.id, "/help")
    assert "/broadcast" not in (helped.text or "")
    listing = await harness.say(admin.id, admin.id, "/channel")
    assert "Magazine (@magazine)" in (listing.text or "")
    assert "instant" in (listing.text or "")

    await _publish(harness.services, "Migrants stranded at the border", "A new video on history")
    post = await emulator.wait_for_bot_message(channel.id, timeout=10)
    assert (post.text or "").startswith("Migrants stranded at the border")
    assert "#migration" in (post.text or "")
    await harness.sender.wait_empty()
    assert len(_posts(emulator, channel.id)) == 1  # once, and nothing off-topic

    emulator.bot_membership_changed(channel.id, admin.id, "member")  # demoted

    async def inactive() -> bool:
        found = await chats.get_chat(harness.services.db, channel.id)
        return found is not None and not found.active

    await eventually(inactive)


async def test_commands_posted_in_the_channel_configure_it(admin_harness: Harness) -> None:
    emulator = admin_harness.emulator
    channel = emulator.add_channel("Notes")
    emulator.channel_post(channel.id, "/subscribe femicide")
    reply = await emulator.wait_for_bot_message(channel.id)
    assert "Subscribed to the keywords femicide" in (reply.text or "")


async def test_forum_topics_get_their_own_subscriptions(admin_harness: Harness) -> None:
    harness = admin_harness
    emulator = harness.emulator
    admin = emulator.add_user("Mod")
    forum = emulator.add_supergroup("Forum", forum=True, members=[admin.id], admins=[admin.id])
    migration = emulator.add_topic(forum.id, "Migration news")
    history = emulator.add_topic(forum.id, "History club")
    for thread, command in ((migration, "/subscribe migration"), (history, "/subscribe history")):
        await harness.say(forum.id, admin.id, command, thread_id=thread)
        await harness.say(forum.id, admin.id, "/settings digest instant", thread_id=thread)

    await _publish(harness.services, "Migrants at the border", "Aztec history revisited")
    await harness.sender.wait_empty()
    in_migration = " ".join(m.text or "" for m in _posts(emulator, forum.id, migration))
    in_history = " ".join(m.text or "" for m in _posts(emulator, forum.id, history))
    assert "Migrants at the border" in in_migration
    assert "Aztec history" not in in_migration
    assert "Aztec history revisited" in in_history
    assert "Migrants at the border" not in in_history


async def test_a_burst_of_100_articles_keeps_the_channel_limit_and_order(
    emulator: Emulator, settings: Settings
) -> None:
    """Telegram's 20 posts a minute per channel, with time scaled ×50 on both sides."""
    emulator.enforce_limits = True
    emulator.limits = FloodLimits(
        per_group_per_minute=20, group_window=1.2, per_chat_interval=0.02, slack=0.0
    )
    limits = Limits(group_interval=0.063, private_interval=0.021)
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    channel = emulator.add_channel("Wire")
    try:
        await chats.save_chat(
            services.db, chat_id=channel.id, type="channel", title="Wire", now=services.now()
        )
        target = await chats.ensure_target(
            services.db, channel.id, ui_language="en", timezone="UTC", now=services.now()
        )
        await chats.update_target(
            services.db, target.id, digest_mode="instant", next_digest_at=None
        )
        await subscriptions.add(services.db, target.id, "query", "bulletin", services.now())
        async with bot_on_emulator(emulator, settings, services=services, limits=limits) as app:
            await _publish(services, *(f"Bulletin {n:03d}" for n in range(100)))
            await sender_of(app).wait_empty()
        titles = [(m.text or "").split("\n")[0] for m in _posts(emulator, channel.id)]
        assert titles == [f"Bulletin {n:03d}" for n in range(100)]
        assert emulator.stats().flood_429 == 0
    finally:
        await content.db.close()


async def test_a_long_channel_list_comes_in_several_messages(admin_harness: Harness) -> None:
    """Forty channels with long names: /channel lists every one, in as many
    messages as Telegram's length allows, each channel whole in one of them."""
    emulator = admin_harness.emulator
    admin = emulator.user(ADMIN_ID)
    names = [f"Channel {n:02}" + " of the publication's regional desk" * 3 for n in range(40)]
    for name in names:
        channel = emulator.add_channel(name, admins=[admin.id], bot_status="member")
        emulator.bot_membership_changed(channel.id, admin.id, "administrator")

    async def all_known() -> bool:
        return len(await chats.list_channels(admin_harness.services.db)) == len(names)

    await eventually(all_known)
    await admin_harness.sender.wait_empty()
    before = len(emulator.bot_messages(admin.id))
    emulator.send_user_message(admin.id, admin.id, "/channel")

    def listing_messages() -> list[str]:
        # The notices of the bot's new channels may still be arriving.
        texts = [m.text or "" for m in emulator.bot_messages(admin.id)[before:]]
        return [text for text in texts if "— digest:" in text]

    async def listed() -> bool:
        return any(f"{len(names)}. " in text for text in listing_messages())

    await eventually(listed)
    texts = listing_messages()
    assert len(texts) > 1
    lines = [line for text in texts for line in text.splitlines() if "— digest:" in line]
    assert sorted(int(line.split(".")[0]) for line in lines) == list(range(1, len(names) + 1))
    assert sorted(line.split(". ", 1)[1].split(" (-")[0] for line in lines) == sorted(names)
