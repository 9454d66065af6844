"""Injected faults map onto the PTB exceptions a bot has to handle."""

from __future__ import annotations

import time

import pytest
import telegram
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.emulator import ChatFault, Emulator, FaultPlan

from .conftest import make_bot, retry_seconds


@pytest.mark.parametrize(
    ("fault", "exception", "text"),
    [
        (ChatFault.BLOCKED, Forbidden, "bot was blocked by the user"),
        (ChatFault.DEACTIVATED, Forbidden, "user is deactivated"),
        (ChatFault.CHAT_NOT_FOUND, BadRequest, "Chat not found"),
    ],
)
async def test_private_chat_faults(
    emulator: Emulator,
    bot: telegram.Bot,
    fault: ChatFault,
    exception: type[Exception],
    text: str,
) -> None:
    user = emulator.add_user()
    emulator.inject_chat_fault(user.id, fault)
    with pytest.raises(exception, match=text):
        await bot.send_message(user.id, "hello")
    assert emulator.bot_messages(user.id) == []
    assert emulator.stats().faults == {fault.value: 1}
    assert emulator.calls("sendMessage")[0].fault == fault.value
    emulator.clear_faults(user.id)
    await bot.send_message(user.id, "hello again")


async def test_kicked_from_group(emulator: Emulator, bot: telegram.Bot) -> None:
    group = emulator.add_group("G")
    emulator.inject_chat_fault(group.id, "kicked")
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(group.id, "hello")


async def test_migrated_group_points_to_the_new_supergroup(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    group = emulator.add_group("Old")
    emulator.inject_chat_fault(group.id, ChatFault.MIGRATED)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "hello")
    new_id = caught.value.new_chat_id
    assert emulator.chat(new_id).type == "supergroup"
    assert emulator.chat(new_id).migrated_from == group.id
    await bot.send_message(new_id, "hello")
    assert emulator.stats().faults == {"migrated": 1}


async def test_real_migration_is_state_not_fault(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    group = emulator.add_group("Old", owner_id=user.id)
    new_id = emulator.migrate_to_supergroup(group.id)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "hello")
    assert caught.value.new_chat_id == new_id
    assert emulator.stats().faults == {}
    assert [m.service for m in emulator.messages(new_id)] == [{"migrate_from_chat_id": group.id}]


async def test_thread_fault(emulator: Emulator, bot: telegram.Bot) -> None:
    forum = emulator.add_supergroup("F", forum=True)
    thread = emulator.add_topic(forum.id, "T")
    emulator.inject_thread_fault(forum.id, thread)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(forum.id, "x", message_thread_id=thread)
    await bot.send_message(forum.id, "outside the topic")
    assert emulator.stats().faults == {"thread_not_found": 1}


async def test_random_429_and_5xx(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    emulator.fault_plan = FaultPlan(seed=7, rate_429=1.0, retry_after=(2, 2))
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(user.id, "x")
    assert retry_seconds(caught.value) == 2

    emulator.fault_plan = FaultPlan(seed=7, rate_5xx=1.0)
    with pytest.raises(NetworkError) as failed:
        await bot.send_message(user.id, "x")
    assert "Bad Gateway" in str(failed.value) or "Internal Server Error" in str(failed.value)

    assert await bot.get_me()
    assert emulator.bot_messages(user.id) == []
    assert emulator.stats().faults == {"429": 1, "5xx": 1}
    assert emulator.stats().flood_429 == 0


async def test_timeout_is_not_delivered(emulator: Emulator) -> None:
    user = emulator.add_user()
    emulator.fault_plan = FaultPlan(rate_timeout=1.0, timeout_delay=2.0)
    async with make_bot(emulator, read_timeout=0.2) as impatient:
        with pytest.raises(TimedOut):
            await impatient.send_message(user.id, "x")
    assert emulator.bot_messages(user.id) == []
    assert emulator.stats().faults == {"timeout": 1}


async def test_slow_replies_still_deliver(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    emulator.fault_plan = FaultPlan(rate_slow=1.0, slow_latency=0.15)
    started = time.perf_counter()
    await bot.send_message(user.id, "x")
    assert time.perf_counter() - started >= 0.15
    assert len(emulator.bot_messages(user.id)) == 1
    assert emulator.stats().faults == {"slow": 1}


async def test_random_faults_are_reproducible(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()

    async def outcomes() -> list[str]:
        emulator.fault_plan = FaultPlan(seed=42, rate_429=0.3, rate_5xx=0.3)
        seen = []
        for _ in range(12):
            try:
                await bot.send_message(user.id, "x")
                seen.append("ok")
            except RetryAfter:
                seen.append("429")
            except NetworkError:
                seen.append("5xx")
        return seen

    first = await outcomes()
    assert await outcomes() == first
    assert {"ok", "429", "5xx"} <= set(first)


async def test_faults_spare_get_updates_unless_asked(emulator: Emulator, bot: telegram.Bot) -> None:
    emulator.fault_plan = FaultPlan(rate_5xx=1.0, methods=frozenset({"getme", "sendmessage"}))
    assert await bot.get_updates(timeout=0) == ()
    with pytest.raises(NetworkError):
        await bot.get_me()
    emulator.fault_plan = FaultPlan(rate_5xx=1.0, include_get_updates=True)
    with pytest.raises(NetworkError):
        await bot.get_updates(timeout=0)
    assert emulator.protocol_errors == []
