"""A flooding user meets the real bot: the others are still answered at once, the
flood is cut to a short queue with one "slow down" a minute, nothing is lost at
human speed, and inline queries and button presses are throttled too."""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.delivery.limits import Limits
from bot.emulator import Emulator, MessageRecord
from bot.runtime import open_content
from bot.services import Services
from bot.telegram.admission import QUEUE_SIZE, AdmissionProcessor, Lanes, Verdict
from tests.harness import Harness, eventually

HELP = "What I can do"
SLOW_DOWN = "Slow down"
QUICK = Limits(rate_per_second=500, private_interval=0.0, group_interval=0.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def running(emulator: Emulator, settings: Settings, limits: Limits) -> AsyncIterator[Harness]:
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        async with bot_on_emulator(emulator, settings, services=services, limits=limits) as app:
            yield Harness(emulator, services, app)
    finally:
        await content.db.close()


def processor_of(harness: Harness) -> AdmissionProcessor:
    processor = harness.app.update_processor
    assert isinstance(processor, AdmissionProcessor)
    return processor


async def settled(harness: Harness) -> None:
    """Every lane has served its queue (and sent its notice)."""
    processor = processor_of(harness)

    async def idle() -> bool:
        return len(processor.lanes) == 0

    await eventually(idle, timeout=30)


def texts(emulator: Emulator, chat_id: int, after: int = 0) -> list[str]:
    return [m.text or "" for m in emulator.bot_messages(chat_id) if m.seq > after]


def last_seq(emulator: Emulator, chat_id: int) -> int:
    messages = emulator.bot_messages(chat_id)
    return messages[-1].seq if messages else 0


async def test_another_users_reply_is_not_held_behind_a_flood(
    emulator: Emulator, settings: Settings
) -> None:
    """One user's 45 /help once held every concurrency slot while their replies waited
    for their chat's pacing, and the next user's /help waited behind 14 of them."""
    limits = Limits(private_interval=0.5)
    async with running(emulator, settings, limits) as harness:
        flooder = emulator.add_user("Flo")
        other = emulator.add_user("Otto")
        await harness.say(flooder.id, flooder.id, "/start")
        await harness.say(other.id, other.id, "/start")
        before = last_seq(emulator, flooder.id)
        for _ in range(45):
            emulator.send_user_message(flooder.id, flooder.id, "/help")
        emulator.send_user_message(other.id, other.id, "/help")
        reply: MessageRecord = await emulator.wait_for_bot_message(other.id, timeout=60)
        assert HELP in (reply.text or "")
        ahead = [m for m in emulator.bot_messages(flooder.id) if before < m.seq < reply.seq]
        assert len(ahead) <= limits.private_burst + 1, (
            f"the other user's reply waited behind {len(ahead)} of the flooder's"
        )
        await settled(harness)
        assert len(texts(emulator, flooder.id, before)) > len(ahead)


async def test_a_flood_is_cut_to_its_queue_with_one_slow_down_a_minute(
    emulator: Emulator, settings: Settings
) -> None:
    async with running(emulator, settings, QUICK) as harness:
        processor = processor_of(harness)
        clock = Clock()
        processor.clock = clock
        user = emulator.add_user("Flo")
        await harness.say(user.id, user.id, "/start")

        async def flood(count: int) -> tuple[int, int]:
            before = last_seq(emulator, user.id)
            for _ in range(count):
                emulator.send_user_message(user.id, user.id, "/help")
            await emulator.wait_for(lambda: len(texts(emulator, user.id, before)) or None)
            await settled(harness)
            sent = texts(emulator, user.id, before)
            return sum(HELP in x for x in sent), sum(x.startswith(SLOW_DOWN) for x in sent)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert await flood(20) == (1 + QUEUE_SIZE, 1)
            assert processor.dropped == 20 - 1 - QUEUE_SIZE
            clock.now += 30
            assert await flood(20) == (1 + QUEUE_SIZE, 0), "one notice a minute"
            clock.now += 31
            assert await flood(20) == (1 + QUEUE_SIZE, 1)
            gc.collect()
        never_awaited = [w for w in caught if "never awaited" in str(w.message)]
        assert never_awaited == [], "dropped updates' coroutines are closed"


async def test_the_slow_down_notice_speaks_the_users_language(
    emulator: Emulator, settings: Settings
) -> None:
    async with running(emulator, settings, QUICK) as harness:
        user = emulator.add_user("Flor", language_code="es-MX")
        for _ in range(QUEUE_SIZE + 3):
            emulator.send_user_message(user.id, user.id, "/help")
        notice = await emulator.wait_for_bot_message(
            user.id, lambda m: (m.text or "").startswith("Más despacio")
        )
        assert notice.text
        await settled(harness)


async def test_three_commands_in_a_row_are_all_answered_in_order(harness: Harness) -> None:
    """At human speed nothing is dropped, and the replies come as fast as Telegram allows
    a short burst (the emulator enforces its limits here: no 429)."""
    emulator = harness.emulator
    emulator.enforce_limits = True
    user = emulator.add_user("Ann")
    for text in ("/search juarez", "/help", "/topics"):
        emulator.send_user_message(user.id, user.id, text)
    first = await emulator.wait_for_bot_message(user.id)
    second = await emulator.wait_for_bot_message(user.id)
    third = await emulator.wait_for_bot_message(user.id)
    assert "Juárez" in (first.text or "")
    assert HELP in (second.text or "")
    assert third.buttons, "the topics, as buttons"
    assert processor_of(harness).dropped == 0
    assert emulator.stats().flood_429 == 0


async def test_inline_queries_are_throttled_per_user_newest_first(harness: Harness) -> None:
    emulator = harness.emulator
    typist = emulator.add_user("Ty")
    other = emulator.add_user("Otto")
    words = ["m", "mi", "mig", "migr", "migra", "migrant"]
    typed = [emulator.inline_query(typist.id, word) for word in words]
    elsewhere = emulator.inline_query(other.id, "juarez")
    await emulator.wait_for_inline_answer(typed[-1])
    await emulator.wait_for_inline_answer(elsewhere)
    await settled(harness)
    answered = [emulator.inline_answer(query).answered for query in typed]
    assert answered == [True, False, False, False, False, True]
    assert processor_of(harness).dropped == len(words) - 2


async def test_button_mashing_is_answered_but_not_obeyed_past_the_queue(
    harness: Harness,
) -> None:
    emulator = harness.emulator
    user = emulator.add_user("Bea")
    topics = await harness.say(user.id, user.id, "/topics")
    labels = [topics.buttons[0]["text"], topics.buttons[1]["text"]]  # each press edits anew
    presses = [
        emulator.press_button(user.id, topics.message_id, text=labels[n % 2]) for n in range(15)
    ]
    answers = [await emulator.wait_for_callback_answer(query) for query in presses]
    await settled(harness)
    slowed = [a for a in answers if (a.text or "").startswith(SLOW_DOWN)]
    assert len(slowed) == 15 - 1 - QUEUE_SIZE, "every press past the queue is told"
    assert all(a.answered for a in answers), "no spinner is left turning"
    assert not any(x.startswith(SLOW_DOWN) for x in texts(emulator, user.id)), (
        "a button answer is the notice; the chat gets no message for it"
    )


async def test_group_chatter_passes_straight_through(
    emulator: Emulator, settings: Settings
) -> None:
    """Where the bot is an administrator it sees every message; chatter must not fill
    the group's queue, or its members' commands would be dropped."""
    async with running(emulator, settings, QUICK) as harness:
        admin = emulator.add_user("Ada")
        group = emulator.add_supergroup(
            "Busy", members=[admin.id], admins=[admin.id], bot_status="administrator"
        )
        for n in range(30):
            emulator.send_user_message(group.id, admin.id, f"chatting {n}")
        emulator.send_user_message(group.id, admin.id, "/help")
        reply = await emulator.wait_for_bot_message(group.id)
        assert HELP in (reply.text or "")
        await settled(harness)
        assert processor_of(harness).dropped == 0


# -- the policy alone, time as a parameter ----------------------------------------


def test_a_lane_runs_one_queues_a_few_and_drops_the_rest() -> None:
    lanes: Lanes[str] = Lanes(queue_size=2, notice_interval=60)
    assert lanes.admit("a", "1", 0).verdict is Verdict.RUN
    assert lanes.admit("b", "x", 0).verdict is Verdict.RUN, "lanes are independent"
    assert lanes.admit("a", "2", 0).verdict is Verdict.QUEUED
    assert lanes.admit("a", "3", 0).verdict is Verdict.QUEUED
    dropped = lanes.admit("a", "4", 0)
    assert (dropped.verdict, dropped.dropped) == (Verdict.DROPPED, "4")
    assert lanes.admit("a", "5", 1).dropped == "5"
    assert lanes.next("a") == ("2", "4"), "the first dropped one is told about, once"
    assert lanes.next("a") == ("3", None)
    assert lanes.next("a") == (None, None)
    assert len(lanes) == 1, "an idle lane is forgotten"


def test_one_notice_per_lane_per_interval() -> None:
    lanes: Lanes[int] = Lanes(queue_size=1, notice_interval=60)

    def flood(now: float) -> int | None:
        lanes.admit("a", 0, now)
        lanes.admit("a", 1, now)
        for n in range(2, 6):
            lanes.admit("a", n, now)
        first = lanes.next("a")
        lanes.next("a")
        return first[1]

    assert flood(0) == 2
    assert flood(59) is None
    assert flood(60.5) == 2
    assert len(lanes._noticed) == 1


def test_newest_only_keeps_the_latest_waiting() -> None:
    lanes: Lanes[str] = Lanes(queue_size=8)
    assert lanes.admit("q", "m", 0, newest_only=True).verdict is Verdict.RUN
    assert lanes.admit("q", "mi", 0, newest_only=True).dropped is None
    displaced = lanes.admit("q", "mig", 0, newest_only=True)
    assert (displaced.verdict, displaced.dropped) == (Verdict.QUEUED, "mi")
    assert lanes.next("q") == ("mig", None)


def test_queue_size_is_validated() -> None:
    with pytest.raises(ValueError, match="queue_size"):
        Lanes(queue_size=0)
