"""Flood limits: the three sliding windows, and 429 with retry_after over HTTP."""

from __future__ import annotations

import pytest
import telegram
from telegram.error import RetryAfter

from bot.emulator import Emulator, FloodLimits
from bot.emulator.limits import FloodGate

from .conftest import retry_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def retry(gate: FloodGate, chat_id: int, is_group: bool) -> int | None:
    refusal = gate.admit(chat_id, is_group)
    return None if refusal is None else refusal.retry_after


def test_one_message_per_second_per_chat() -> None:
    clock = Clock()
    gate = FloodGate(FloodLimits(per_chat_burst=1), clock)
    assert gate.admit(1, is_group=False) is None
    clock.now += 0.5
    assert retry(gate, 1, is_group=False) == 1
    assert gate.admit(2, is_group=False) is None
    clock.now += 0.46
    assert gate.admit(1, is_group=False) is None


def test_a_chat_may_take_a_short_burst_then_about_one_a_second() -> None:
    clock = Clock()
    gate = FloodGate(FloodLimits(), clock)
    for _ in range(3):
        assert gate.admit(1, is_group=False) is None
    assert retry(gate, 1, is_group=False) == 1
    clock.now += 0.96
    assert gate.admit(1, is_group=False) is None
    assert retry(gate, 1, is_group=False) == 1
    clock.now += 5.0
    for _ in range(3):
        assert gate.admit(1, is_group=False) is None, "the bucket refilled, up to 3"
    assert retry(gate, 1, is_group=False) == 1


def test_thirty_messages_per_second_per_bot() -> None:
    clock = Clock()
    gate = FloodGate(FloodLimits(), clock)
    for chat_id in range(30):
        assert gate.admit(chat_id, is_group=False) is None
    assert retry(gate, 99, is_group=False) == 1
    clock.now += 0.99
    assert retry(gate, 99, is_group=False) == 1, "a sliding second, no slack"
    clock.now += 0.01
    assert gate.admit(99, is_group=False) is None


def test_twenty_messages_per_minute_per_group() -> None:
    clock = Clock()
    gate = FloodGate(FloodLimits(), clock)
    for _ in range(20):
        assert gate.admit(-5, is_group=True) is None
        clock.now += 1.0
    refusal = gate.admit(-5, is_group=True)
    assert refusal is not None
    assert refusal == (40, "per_group_per_minute")
    retry_after = refusal.retry_after
    clock.now += retry_after
    assert gate.admit(-5, is_group=True) is None


def test_refused_messages_do_not_use_up_the_window() -> None:
    clock = Clock()
    gate = FloodGate(FloodLimits(per_chat_interval=1.0, per_chat_burst=1), clock)
    assert gate.admit(1, is_group=False) is None
    for _ in range(5):
        assert retry(gate, 1, is_group=False) == 1
    clock.now += 1.0
    assert gate.admit(1, is_group=False) is None


async def test_flood_limit_answers_retry_after(emulator: Emulator, bot: telegram.Bot) -> None:
    emulator.enforce_limits = True
    user = emulator.add_user()
    for text in ("first", "second", "third"):
        await bot.send_message(user.id, text)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(user.id, "fourth")
    assert retry_seconds(caught.value) == 1
    assert [m.text for m in emulator.bot_messages(user.id)] == ["first", "second", "third"]
    assert emulator.stats().flood_429 == 1
    assert emulator.calls("sendMessage")[-1].status == 429
    assert emulator.calls("sendMessage")[-1].detail == "per_chat_interval"
    other = emulator.add_user()
    await bot.send_message(other.id, "to someone else")


async def test_group_limit_over_http(emulator: Emulator, bot: telegram.Bot) -> None:
    emulator.limits = FloodLimits(per_chat_interval=0.0, per_group_per_minute=3)
    emulator.enforce_limits = True
    group = emulator.add_group("G")
    for n in range(3):
        await bot.send_message(group.id, f"m{n}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(group.id, "too many")
    assert 59 <= retry_seconds(caught.value) <= 60
    assert len(emulator.bot_messages(group.id)) == 3


async def test_limits_only_count_sending_methods(emulator: Emulator, bot: telegram.Bot) -> None:
    emulator.enforce_limits = True
    user = emulator.add_user()
    message = await bot.send_message(user.id, "one")
    await bot.edit_message_text("two", user.id, message.message_id)
    await bot.send_chat_action(user.id, "typing")
    await bot.get_chat(user.id)
    assert emulator.stats().flood_429 == 0


def test_paid_messages_have_a_window_of_their_own() -> None:
    clock = Clock()
    gate = FloodGate(FloodLimits(paid_per_bot_per_second=100, per_chat_burst=1), clock)
    for chat_id in range(30):
        assert gate.admit(chat_id, is_group=False) is None
    assert retry(gate, 99, is_group=False) == 1, "the free 30 a second are used up"
    for chat_id in range(100, 200):
        assert gate.admit(chat_id, is_group=False, paid=True) is None, "paid ones still go"
    refusal = gate.admit(999, is_group=False, paid=True)
    assert refusal == (1, "paid_per_bot_per_second")
    clock.now += 1.0
    assert gate.admit(999, is_group=False, paid=True) is None


def test_a_chat_allows_the_same_paid_or_free() -> None:
    clock = Clock()
    gate = FloodGate(FloodLimits(per_chat_burst=1), clock)
    assert gate.admit(1, is_group=False, paid=True) is None
    assert retry(gate, 1, is_group=False) == 1
    refusal = gate.admit(1, is_group=False, paid=True)
    assert refusal == (1, "per_chat_interval"), "paying does not lift one chat's limit"
    for _ in range(19):
        assert gate.admit(-5, is_group=True, paid=True) is None
        clock.now += 1.0
    assert gate.admit(-5, is_group=True) is None
    assert gate.admit(-5, is_group=True, paid=True) is not None, "20 a minute to a group"


async def test_paid_broadcast_counted_and_billed_over_http(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    emulator.limits = FloodLimits(per_bot_per_second=2, paid_per_bot_per_second=5)
    emulator.enforce_limits = True
    users = [emulator.add_user().id for _ in range(8)]
    for chat_id in users[:2]:
        await bot.send_message(chat_id, "free")
    with pytest.raises(RetryAfter):
        await bot.send_message(users[2], "free")
    for chat_id in users[2:7]:
        await bot.send_message(chat_id, "paid", allow_paid_broadcast=True)
    source = emulator.bot_messages(users[0])[0]
    with pytest.raises(RetryAfter):
        await bot.copy_message(users[7], users[0], source.message_id, allow_paid_broadcast=True)
    assert emulator.calls("copyMessage")[-1].detail == "paid_per_bot_per_second"
    assert emulator.paid_messages == 5
    assert emulator.stars_spent == 0.5
    stats = emulator.stats()
    assert (stats.paid_messages, stats.stars_spent, stats.delivered) == (5, 0.5, 7)


async def test_paid_flag_off_or_ignored_costs_nothing(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    user, other = emulator.add_user(), emulator.add_user()
    sent = await bot.send_message(user.id, "free", allow_paid_broadcast=False)
    await bot.forward_message(
        other.id,
        user.id,
        sent.message_id,
        api_kwargs={
            "allow_paid_broadcast": True  # forwardMessage takes no such parameter
        },
    )
    assert emulator.paid_messages == 0
    assert emulator.stats().stars_spent == 0


async def test_paid_flag_must_be_a_boolean(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)invalid allow_paid_broadcast"):
        await bot.send_message(user.id, "x", api_kwargs={"allow_paid_broadcast": "maybe"})
    assert emulator.bot_messages(user.id) == []
    assert emulator.paid_messages == 0
    assert len(emulator.take_protocol_errors()) == 1
