"""Two bots on one PostgreSQL store send as one: the follower's messages go out
through the leader's rate limiter (`bot.delivery.relay`), so Telegram's limits hold
for the bot as a whole, and the follower's handlers see what a direct call would
have given them: the same result, the same errors."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError

from bot.config import Settings
from bot.delivery.ratelimiter import TelegramRateLimiter, consumes_budget
from bot.delivery.relay import RelayClient
from bot.emulator import Emulator
from bot.runtime import open_content
from bot.services import Services
from bot.store import chats, outbox
from bot.store import relay as relay_store
from bot.store.chats import ChatType
from bot.store.db import Database, locate
from bot.store.leader import leadership_for
from bot.store.outbox import NewMessage
from bot.telegram.app import App, build_application, running
from tests.harness import bot_harness, sender_of

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")

TAKEOVER = 15.0  # seconds a follower may take to lead once the leader is gone
WAIT = 60.0  # generous bounds for waits on a busy machine, never measured
BULK = 150  # the leader's bulk messages: five seconds of Telegram's 30 a second
TALKERS = 30  # readers who write to the follower meanwhile


@asynccontextmanager
async def replica(emulator: Emulator, settings: Settings) -> AsyncIterator[App]:
    """One bot on the emulator, started as a webhook bot starts (no updater: updates
    are handed to it, as the webhook server hands them)."""
    settings = settings.model_copy(update={"telegram_base_url": emulator.base_url})
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        async with running(build_application(settings, emulator.token, services=services)) as app:
            yield app
    finally:
        await content.db.close()


def relay_of(app: App) -> RelayClient:
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, TelegramRateLimiter)
    assert limiter.relay is not None, "a bot on PostgreSQL relays while it follows"
    return limiter.relay


async def hand(app: App, update: dict[str, Any] | None) -> None:
    """Give the bot an update, as its webhook server does."""
    assert update is not None
    await app.update_queue.put(Update.de_json(update, app.bot))


def busiest_second(emulator: Emulator) -> int:
    """The most messages Telegram accepted within one second of its log."""
    sends = [r for r in emulator.requests if r.ok and consumes_budget(r.method)]
    return max(Counter(int(r.at) for r in sends).values(), default=0)


@pytest.fixture
def shared(settings: Settings, postgres_url: str) -> Settings:
    return settings.model_copy(update={"database_url": postgres_url})


async def test_the_followers_replies_keep_the_bots_limits_with_the_leaders_bulk_sends(
    emulator: Emulator, shared: Settings
) -> None:
    emulator.enforce_limits = True
    readers = [emulator.add_user(f"Reader {n}") for n in range(BULK)]
    talkers = readers[:TALKERS]  # each gets a bulk message too: their chats' allowance counts
    async with AsyncExitStack() as stack:
        leader = await stack.enter_async_context(replica(emulator, shared))
        follower = await stack.enter_async_context(replica(emulator, shared))
        assert leader.bot_data.services.leadership.leading
        assert not follower.bot_data.services.leadership.leading

        await outbox.enqueue(
            leader.bot_data.services.db,
            [NewMessage.text(r.id, f"Bulk for {r.first_name}", kind="digest") for r in readers],
        )
        leader.bot_data.services.wake_sender()
        await emulator.wait_for(lambda: emulator.stats().delivered >= 10 or None, timeout=WAIT)
        for talker in talkers:  # while the leader sends at full rate
            await hand(follower, emulator.send_user_message(talker.id, talker.id, "/help"))

        for talker in talkers:
            await emulator.wait_for_bot_message(
                talker.id, lambda m: not (m.text or "").startswith("Bulk"), timeout=WAIT
            )
        await asyncio.wait_for(sender_of(leader).wait_empty(), WAIT)

        assert relay_of(follower).relayed >= TALKERS
    stats = emulator.stats()
    assert stats.flood_429 == 0
    assert busiest_second(emulator) <= 30
    for reader in readers:
        texts = [m.text or "" for m in emulator.bot_messages(reader.id)]
        assert texts.count(f"Bulk for {reader.first_name}") == 1
        assert len(texts) == (2 if reader in talkers else 1)


async def test_a_relayed_send_is_the_request_and_the_answer_of_a_direct_one(
    emulator: Emulator, shared: Settings
) -> None:
    reader = emulator.add_user("Ana")
    request: dict[str, Any] = {
        "chat_id": reader.id,
        "text": "<b>Same</b> either way",
        "reply_markup": InlineKeyboardMarkup([[InlineKeyboardButton("Open", callback_data="o")]]),
        "link_preview_options": LinkPreviewOptions(is_disabled=True),
    }
    async with replica(emulator, shared) as leader, replica(emulator, shared) as follower:
        relayed = await follower.bot.send_message(**request)
        relayed_call = emulator.calls("sendMessage")[-1]
        direct = await leader.bot.send_message(**request)
        direct_call = emulator.calls("sendMessage")[-1]
        # By name, PTB applies no defaults: the HTML the typed calls got from them.
        raw = await follower.bot.do_api_request(
            "sendMessage", api_kwargs={**request, "parse_mode": "HTML"}
        )
        raw_call = emulator.calls("sendMessage")[-1]
        assert relay_of(follower).relayed == 2
        as_answered = Message.de_json(relayed_call.result, follower.bot)

    # Telegram got the very same request either way ...
    assert relayed_call.params == direct_call.params == raw_call.params
    # ... and the follower got Telegram's very answer.
    assert raw == json.loads(json.dumps(raw_call.result))
    assert relayed.to_dict() == as_answered.to_dict()
    assert relayed.message_id != direct.message_id

    def unstamped(result: Any) -> Any:
        return {k: v for k, v in result.items() if k not in ("message_id", "date")}

    assert unstamped(relayed.to_dict()) == unstamped(direct.to_dict())


@pytest.mark.parametrize(
    ("fault", "error"),
    [("blocked", Forbidden), ("chat_not_found", BadRequest), ("migrated", ChatMigrated)],
)
async def test_a_relayed_send_raises_what_a_direct_one_raises(
    emulator: Emulator, shared: Settings, fault: str, error: type[TelegramError]
) -> None:
    reader = emulator.add_user("Bo")
    group = emulator.add_group("Readers", members=[reader.id])
    chat_id = group.id if fault == "migrated" else reader.id
    emulator.inject_chat_fault(chat_id, fault)
    async with replica(emulator, shared) as leader, replica(emulator, shared) as follower:
        db = follower.bot_data.services.db
        kind: ChatType = "group" if fault == "migrated" else "private"
        await chats.save_chat(db, chat_id=chat_id, type=kind, title=None, now=0)
        await chats.ensure_target(db, chat_id, ui_language="en", timezone="UTC", now=0)
        with pytest.raises(error) as relayed:
            await follower.bot.send_message(chat_id, "Are you there?")
        assert relay_of(follower).relayed == 1
        assert await relay_store.waiting(db) == 0
        # Nothing else happens to a reply that failed (the outbox would drop or move the
        # chat): the chat is as a direct send leaves it, for the handler to deal with.
        rows = await db.fetchall("SELECT chat_id, active FROM chats")
        assert [tuple(row) for row in rows] == [(chat_id, 1)]
        with pytest.raises(error) as direct:
            await leader.bot.send_message(chat_id, "Are you there?")
    assert type(relayed.value) is type(direct.value)
    assert relayed.value.message == direct.value.message
    if isinstance(relayed.value, ChatMigrated):
        assert isinstance(direct.value, ChatMigrated)
        assert relayed.value.new_chat_id == direct.value.new_chat_id


async def test_a_follower_that_comes_to_lead_sends_directly(
    emulator: Emulator, shared: Settings
) -> None:
    reader = emulator.add_user("Cy")
    async with AsyncExitStack() as leaving:
        await leaving.enter_async_context(replica(emulator, shared))
        async with replica(emulator, shared) as follower:
            await follower.bot.send_message(reader.id, "Through the leader")
            assert relay_of(follower).relayed == 1

            await leaving.aclose()  # the leader goes
            async with asyncio.timeout(TAKEOVER):
                await follower.bot_data.services.leadership.until_leading()
            await follower.bot.send_message(reader.id, "On my own")
            assert relay_of(follower).relayed == 1  # not relayed: sent directly
    assert [m.text for m in emulator.bot_messages(reader.id)] == [
        "Through the leader",
        "On my own",
    ]


async def test_a_request_a_dead_leader_had_claimed_is_sent_by_the_next(
    emulator: Emulator, shared: Settings, postgres_url: str
) -> None:
    reader = emulator.add_user("Di")
    dead = leadership_for(locate(postgres_url))  # a leader that claims, then dies
    await dead.start()
    its_store = await Database.open(postgres_url)
    try:
        assert dead.leading
        async with replica(emulator, shared) as follower:
            sending = asyncio.create_task(follower.bot.send_message(reader.id, "Once, at last"))
            claimed: list[relay_store.Relayed] = []
            async with asyncio.timeout(WAIT):
                while not claimed:
                    claimed = await relay_store.claim(its_store, now=time.time(), limit=10)
                    await asyncio.sleep(0.02)
            await dead.stop()  # gone with the row claimed: its lock goes with it
            sent = await asyncio.wait_for(sending, WAIT)  # the follower leads, and sends it
            assert follower.bot_data.services.leadership.leading
            assert sent.text == "Once, at last"
    finally:
        await its_store.close()
        await dead.stop()
    assert [m.text for m in emulator.bot_messages(reader.id)] == ["Once, at last"]


async def test_a_bot_on_sqlite_relays_nothing(emulator: Emulator, settings: Settings) -> None:
    async with bot_harness(emulator, settings) as harness:
        limiter = harness.app.bot.rate_limiter
        assert isinstance(limiter, TelegramRateLimiter)
        assert limiter.relay is None
