"""The subscription cap holds under a burst: the count and the insert are one step."""

from __future__ import annotations

import asyncio

from bot.i18n import t
from bot.reader import following
from bot.reader.following import MAX_SUBSCRIPTIONS
from bot.runtime import Content
from bot.store import subscriptions
from bot.store.chats import ensure_target, save_chat
from bot.store.subscriptions import Added
from tests.harness import Harness

FULL = t("en", "subs.too_many", limit=MAX_SUBSCRIPTIONS)


async def test_the_store_adds_up_to_the_limit_and_says_why_not(content: Content) -> None:
    await save_chat(content.db, chat_id=5, type="private", title=None, now=0)
    target = await ensure_target(content.db, 5, ui_language="en", timezone="UTC", now=0)
    results = await asyncio.gather(
        *(
            subscriptions.add(content.db, target.id, "query", f"word{n}", 0, limit=50)
            for n in range(90)
        )
    )
    assert results.count(Added.ADDED) == 50
    assert results.count(Added.FULL) == 40
    assert len(await subscriptions.list_for_target(content.db, target.id)) == 50
    again = await subscriptions.add(content.db, target.id, "query", "word0", 0, limit=50)
    assert again is Added.EXISTS
    assert not again


async def test_ninety_quick_subscribes_store_exactly_the_cap(content: Content) -> None:
    await save_chat(content.db, chat_id=6, type="private", title=None, now=0)
    target = await ensure_target(content.db, 6, ui_language="en", timezone="UTC", now=0)
    followed = await asyncio.gather(
        *(
            following.subscribe(content.db, content.catalogue, target, f"keyword{n}", 0)
            for n in range(90)
        )
    )
    answers = [following.answer(content.catalogue, target, f, "en") for f in followed]
    assert len(await subscriptions.list_for_target(content.db, target.id)) == MAX_SUBSCRIPTIONS
    assert answers.count(FULL) == 90 - MAX_SUBSCRIPTIONS


async def test_a_burst_at_the_edge_of_the_cap_through_the_bot(harness: Harness) -> None:
    """A reader three short of the cap sends five /subscribe at once: three are stored,
    and the other two are told the chat is full."""
    user = harness.emulator.add_user("Ann")
    db = harness.services.db
    await harness.say(user.id, user.id, "/start")
    target = await ensure_target(db, user.id, ui_language="en", timezone="UTC", now=0)
    for n in range(MAX_SUBSCRIPTIONS - 3):
        await subscriptions.add(db, target.id, "query", f"earlier{n}", 0)
    for n in range(5):
        harness.emulator.send_user_message(user.id, user.id, f"/subscribe burst{n}")
    replies = [await harness.emulator.wait_for_bot_message(user.id) for _ in range(5)]
    assert len(await subscriptions.list_for_target(db, target.id)) == MAX_SUBSCRIPTIONS
    assert [reply.text for reply in replies].count(FULL) == 2
