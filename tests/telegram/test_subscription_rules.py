"""What /subscribe follows: what /search would find, under one name however it is written."""

from __future__ import annotations

import pytest

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.emulator import Emulator, MessageRecord, UserRecord
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.runtime import open_content
from bot.services import Services
from bot.store import chats, subscriptions
from bot.store.chats import Target
from bot.store.db import Database, bundled_migrations
from tests.harness import Harness

ADMIN_ID = 4242

REFUSED = [
    "-video",  # an exclusion alone: following it is not following Video
    "-video -migration",
    '-"ciudad juarez"',
    "ab*",
    "migra* revolu* capit*",
    "juarez topic:nowhere",
    "juarez lang:fr",
    "x" * 301,
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_ids": [ADMIN_ID]})


@pytest.fixture
def emulator(emulator: Emulator) -> Emulator:
    """With the bot's admin in it before the bot starts (it gets the admin menu then)."""
    emulator.add_user("Editor", user_id=ADMIN_ID)
    return emulator


async def _target(harness: Harness, chat_id: int) -> Target:
    target = await chats.get_target(harness.services.db, chat_id)
    assert target is not None
    return target


async def _follows(harness: Harness, chat_id: int) -> list[tuple[str, str]]:
    target = await _target(harness, chat_id)
    found = await subscriptions.list_for_target(harness.services.db, target.id)
    return [(s.kind, s.value) for s in found]


async def _channel(harness: Harness) -> tuple[UserRecord, int]:
    """The bot's admin and a channel the bot was just made an admin of."""
    emulator = harness.emulator
    admin = emulator.user(ADMIN_ID)
    channel = emulator.add_channel(
        "Magazine", username="magazine", admins=[admin.id], bot_status="member"
    )
    await harness.say(admin.id, admin.id, "/start")
    emulator.bot_membership_changed(channel.id, admin.id, "administrator")
    await emulator.wait_for_bot_message(admin.id, lambda m: "Magazine" in (m.text or ""))
    return admin, channel.id


@pytest.mark.parametrize("text", REFUSED)
async def test_subscribe_refuses_what_search_refuses_with_the_same_answer(
    harness: Harness, text: str
) -> None:
    user = harness.emulator.add_user("Ann")
    searched = await harness.say(user.id, user.id, f"/search {text}")
    subscribed = await harness.say(user.id, user.id, f"/subscribe {text}")
    assert subscribed.text == searched.text
    assert "Subscribed" not in (subscribed.text or "")
    assert await _follows(harness, user.id) == []


async def test_a_channel_is_refused_the_same(harness: Harness) -> None:
    admin, channel_id = await _channel(harness)
    searched = await harness.say(admin.id, admin.id, "/search -video")
    answer = await harness.say(admin.id, admin.id, "/channel_subscribe @magazine -video")
    assert searched.text is not None
    assert searched.text in (answer.text or "")
    assert await _follows(harness, channel_id) == []


async def test_a_topic_named_plainly_is_still_the_topic(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/subscribe Vídeo")
    assert "Subscribed to Video" in (reply.text or "")
    assert await _follows(harness, user.id) == [("topic", "video")]


async def test_spellings_of_one_search_are_one_subscription(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    first = await harness.say(user.id, user.id, "/subscribe Ciudad Juárez")
    assert "Subscribed to the keywords ciudad juarez" in (first.text or "")
    for same in ("ciudad juarez", "JUÁREZ  Ciudad", "juarez ciudad juarez", "the Ciudad Juárez"):
        again = await harness.say(user.id, user.id, f"/subscribe {same}")
        assert again.text == "You already follow ciudad juarez.", same
    # In a phrase the order is the search: a different subscription.
    phrase = await harness.say(user.id, user.id, '/subscribe "Juárez Ciudad"')
    assert 'Subscribed to the keywords "juarez ciudad"' in (phrase.text or "")
    assert await _follows(harness, user.id) == [
        ("query", '"juarez ciudad"'),
        ("query", "ciudad juarez"),
    ]

    mine = await harness.say(user.id, user.id, "/mysubs")
    assert (mine.text or "").count("Keywords: ciudad juarez") == 1
    gone = await harness.say(user.id, user.id, "/unsubscribe Juárez, Ciudad")
    assert gone.text == "🔕 Unsubscribed from ciudad juarez."
    assert await _follows(harness, user.id) == [("query", '"juarez ciudad"')]


async def test_the_digest_names_keywords_once(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    for spelling in ("Ciudad Juárez", "ciudad juarez", "juarez ciudad"):
        await harness.say(user.id, user.id, f"/subscribe {spelling}")
    services = harness.services
    await ingest(
        services.db,
        [
            Entry(
                title="Water protests in Ciudad Juárez",
                summary="Residents of Ciudad Juárez march for water.",
                url="https://example.org/juarez-water",
            )
        ],
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )
    digest = await harness.say(user.id, user.id, "/digest")
    assert "Water protests in Ciudad Juárez" in (digest.text or "")
    header = next(line for line in (digest.text or "").splitlines() if "Keywords:" in line)
    assert "ciudad juarez" in header
    assert header.casefold().count("ju") == 1, header


async def _prompt(harness: Harness, chat_id: int, user_id: int, text: str) -> MessageRecord:
    prompt = await harness.say(chat_id, user_id, text)
    assert prompt.buttons, prompt.text
    return prompt


async def test_unsubscribe_all_asks_first_and_keeps_what_came_after(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    await harness.say(user.id, user.id, "/unsubscribe all")  # nothing to remove: no question
    assert harness.emulator.bot_messages(user.id)[-1].buttons == []
    for what in ("migration", "juarez", "femicide"):
        await harness.say(user.id, user.id, f"/subscribe {what}")

    prompt = await _prompt(harness, user.id, user.id, "/unsubscribe all")
    assert "all 3 subscriptions" in (prompt.text or "")
    await harness.press(prompt, text="Cancel")
    await harness.edited(prompt, "Nothing was removed")
    assert len(await _follows(harness, user.id)) == 3

    prompt = await _prompt(harness, user.id, user.id, "/unsubscribe ALL")
    data = next(b["callback_data"] for b in prompt.buttons if "Remove all 3" in b["text"])
    await harness.say(user.id, user.id, "/subscribe history")  # after the question was asked
    await harness.press(prompt, text="Remove all 3")
    removed = await harness.edited(prompt, "Removed 3 subscriptions")
    assert removed.buttons == []
    assert await _follows(harness, user.id) == [("topic", "history")]
    # The same data again (a stale client) removes nothing made since.
    again = harness.emulator.press_button(user.id, prompt.message_id, forged_data=data)
    await harness.emulator.wait_for_callback_answer(again)
    assert await _follows(harness, user.id) == [("topic", "history")]


async def test_unsubscribe_all_in_a_group_is_for_its_admins(harness: Harness) -> None:
    emulator = harness.emulator
    admin, member = emulator.add_user("Admin"), emulator.add_user("Member")
    group = emulator.add_supergroup("Readers", members=[admin.id, member.id], admins=[admin.id])
    await harness.say(group.id, admin.id, "/subscribe migration")
    prompt = await _prompt(harness, group.id, admin.id, "/unsubscribe all")
    assert [b["text"] for b in prompt.buttons] == ["✕ Remove it", "Cancel"]
    query = await harness.press(prompt, text="Remove it", user_id=member.id)
    assert "administrators" in (emulator.callback_answer(query).text or "")
    assert await _follows(harness, group.id) == [("topic", "migration")]
    await harness.press(prompt, text="Remove it", user_id=admin.id)
    await harness.edited(prompt, "Removed 1 subscription")
    assert await _follows(harness, group.id) == []


async def test_a_channel_unsubscribes_from_all_on_its_admin_s_word(harness: Harness) -> None:
    admin, channel_id = await _channel(harness)
    emulator = harness.emulator
    for what in ("migration", "Ciudad Juárez"):
        await harness.say(admin.id, admin.id, f"/channel_subscribe @magazine {what}")
    again = await harness.say(admin.id, admin.id, "/channel_subscribe @magazine juarez ciudad")
    assert "You already follow ciudad juarez" in (again.text or "")
    gone = await harness.say(admin.id, admin.id, "/channel_unsubscribe @magazine ciudad JUAREZ")
    assert "Unsubscribed from ciudad juarez" in (gone.text or "")
    await harness.say(admin.id, admin.id, "/channel_subscribe @magazine femicide")

    prompt = await _prompt(harness, admin.id, admin.id, "/channel_unsubscribe @magazine all")
    assert "Magazine" in (prompt.text or "")
    data = next(b["callback_data"] for b in prompt.buttons if "Remove all 2" in b["text"])
    # Someone else's chat cannot press the channel's button, even with its data.
    stranger = emulator.add_user("Stranger")
    decoy = await harness.say(stranger.id, stranger.id, "/unsubscribe all")
    query = emulator.press_button(
        stranger.id, decoy.message_id, user_id=stranger.id, forged_data=data
    )
    await emulator.wait_for_callback_answer(query)
    assert len(await _follows(harness, channel_id)) == 2

    await harness.press(prompt, text="Remove all 2")
    await harness.edited(prompt, "Removed 2 subscriptions")
    assert await _follows(harness, channel_id) == []
    assert await _follows(harness, admin.id) == []


async def test_spellings_stored_before_become_one_at_the_next_start(
    emulator: Emulator, settings: Settings
) -> None:
    """A database from before the normal form holds each spelling as typed; the
    first start keeps one of each search, and nobody is told (nothing followed
    changed)."""
    ann, ben = emulator.add_user("Ann"), emulator.add_user("Ben")
    stored = {
        ann.id: ["Ciudad Juárez", "migra* Revolución", "juarez  CIUDAD", "the ciudad juarez"],
        ben.id: ["revolucion migra*", "JUÁREZ topic:Migración", "-war peace", "peace -war"],
    }
    older = [m for m in bundled_migrations() if m.version <= 13]
    db = await Database.open(settings.database_path, migrations=older)
    try:
        async with db.transaction() as tx:
            for chat_id, values in stored.items():
                await tx.execute(
                    "INSERT INTO chats (chat_id, type, active, created_at, updated_at)"
                    " VALUES (?, 'private', 1, 0, 0)",
                    (chat_id,),
                )
                await tx.execute(
                    "INSERT INTO targets (chat_id, ui_language, active, created_at)"
                    " VALUES (?, 'en', 1, 0)",
                    (chat_id,),
                )
                for value in values:
                    await tx.execute(
                        "INSERT INTO subscriptions (target_id, kind, value, created_at)"
                        " SELECT id, 'query', ?, 0 FROM targets WHERE chat_id = ?",
                        (value, chat_id),
                    )
    finally:
        await db.close()

    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        async with bot_on_emulator(emulator, settings, services=services) as app:
            harness = Harness(emulator, services, app)
            assert await _follows(harness, ann.id) == [
                ("query", "ciudad juarez"),
                ("query", "migra* revolucion"),
            ]
            assert await _follows(harness, ben.id) == [
                ("query", "juarez topic:migration"),
                ("query", "migra* revolucion"),
                ("query", "peace -war"),
            ]
            mine = await harness.say(ann.id, ann.id, "/mysubs")
            assert (mine.text or "").count("juarez") == 1
            gone = await harness.say(ann.id, ann.id, "/unsubscribe Ciudad Juárez")
            assert gone.text == "🔕 Unsubscribed from ciudad juarez."
            assert await content.db.fetchval("SELECT count(*) FROM outbox") == 0
            assert emulator.bot_messages(ben.id) == []
    finally:
        await content.db.close()
