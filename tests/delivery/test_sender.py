"""The outbox sender against an in-process fake of the Bot API: every outcome."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import ExtBot

from bot.delivery.limits import Limits
from bot.delivery.ratelimiter import TelegramRateLimiter
from bot.delivery.sender import OutboxSender, Outcome, drain
from bot.store import outbox
from bot.store.chats import ensure_target, get_chat, get_target, save_chat
from bot.store.db import Database
from bot.store.outbox import NewMessage, OutboxRow
from tests.delivery.fake_telegram import (
    SERVER_ERROR,
    TIMEOUT,
    FakeTelegram,
    bad_request,
    fake_bot,
    forbidden,
    migrated,
    retry_after,
)

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

QUICK: dict[str, Any] = {"backoff_base": 0.01, "backoff_cap": 0.05, "idle_poll": 0.2}


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def bot(telegram: FakeTelegram) -> ExtBot[Any]:
    return fake_bot(telegram)


async def rows(db: Database) -> dict[int, Any]:
    return {row["id"]: row for row in await db.fetchall("SELECT * FROM outbox ORDER BY id")}


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Poll a condition on the database or the fake server, failing after `within` s."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - the state lives in SQLite, not in an Event
            await asyncio.sleep(0.01)


async def test_sends_each_method_with_its_parameters(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    await outbox.enqueue(
        db,
        [
            NewMessage.text(
                1, "<b>Digest</b>", kind="digest", reply_markup={"inline_keyboard": []}
            ),
            NewMessage.text(-100, "In a topic", kind="digest", thread_id=42),
            NewMessage.copy(2, from_chat_id=-5, message_id=9),
            NewMessage(3, "post", "forwardMessage", {"from_chat_id": -5, "message_id": 10}),
        ],
    )
    counts = await drain(db, bot, **QUICK)
    assert counts == {"sent": 4}
    sent = {message.chat_id: message for message in telegram.delivered}
    assert sent[1].method == "sendMessage"
    assert sent[1].params["parse_mode"] == "HTML"
    assert sent[1].params["text"] == "<b>Digest</b>"
    assert sent[1].params["reply_markup"] == {"inline_keyboard": []}
    assert "message_thread_id" not in sent[1].params
    assert sent[-100].params["message_thread_id"] == 42
    assert (sent[2].method, sent[2].params["from_chat_id"], sent[2].params["message_id"]) == (
        "copyMessage",
        -5,
        9,
    )
    assert sent[3].method == "forwardMessage"
    stored = await rows(db)
    assert {row["state"] for row in stored.values()} == {"sent"}
    assert sorted(row["telegram_message_id"] for row in stored.values()) == [1, 2, 3, 4]


async def test_keeps_each_chat_s_order(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    rng = random.Random(3)
    messages = [NewMessage.text(rng.randint(1, 5), str(i), kind="digest") for i in range(40)]
    telegram.script[2] = [SERVER_ERROR, TIMEOUT]
    await outbox.enqueue(db, messages)
    await drain(db, bot, **QUICK)
    for chat in range(1, 6):
        texts = [int(m.params["text"]) for m in telegram.to(chat)]
        assert texts == sorted(texts)
    assert len(telegram.delivered) == 40


async def test_blocked_chat_is_deactivated_with_its_rows_dropped_but_subscriptions_kept(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    await save_chat(db, chat_id=7, type="private", title=None, now=0)
    target = await ensure_target(db, 7, ui_language="en", timezone="UTC", now=0)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO subscriptions (target_id, kind, value, created_at)"
            " VALUES (?, 'topic', 'science', 0)",
            (target.id,),
        )
    telegram.always[7] = forbidden()
    await outbox.enqueue(db, [NewMessage.text(7, str(i), kind="digest") for i in range(3)])
    await outbox.enqueue(db, [NewMessage.text(8, "other", kind="digest")])
    counts = await drain(db, bot, **QUICK)
    assert counts == {"dropped": 1, "sent": 1}
    chat = await get_chat(db, 7)
    assert chat is not None
    assert not chat.active
    assert chat.inactive_reason == "Forbidden: bot was blocked by the user"
    assert [row["state"] for row in (await rows(db)).values()] == ["dropped"] * 3 + ["sent"]
    assert await db.fetchval("SELECT count(*) FROM subscriptions") == 1
    assert telegram.requests == 2, "the blocked chat was asked once"


async def test_chat_not_found_deactivates_the_chat(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    await save_chat(db, chat_id=-9, type="group", title="Gone", now=0)
    telegram.always[-9] = bad_request("chat not found")
    await outbox.enqueue(db, [NewMessage.text(-9, "x", kind="digest")])
    assert await drain(db, bot, **QUICK) == {"dropped": 1}
    chat = await get_chat(db, -9)
    assert chat is not None
    assert not chat.active


async def test_migrated_group_is_followed_to_its_new_id(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    await save_chat(db, chat_id=-10, type="group", title="Group", now=0)
    await ensure_target(db, -10, ui_language="en", timezone="UTC", now=0)
    telegram.always[-10] = migrated(-100_10)
    await outbox.enqueue(db, [NewMessage.text(-10, str(i), kind="digest") for i in range(2)])
    counts = await drain(db, bot, **QUICK)
    assert counts == {"retry": 1, "sent": 2}
    assert [m.params["text"] for m in telegram.to(-100_10)] == ["0", "1"]
    assert await get_chat(db, -10) is None
    moved = await get_chat(db, -100_10)
    assert moved is not None
    assert moved.type == "supergroup"
    assert await get_target(db, -100_10) is not None
    assert {row["chat_id"] for row in (await rows(db)).values()} == {-100_10}


async def test_deleted_topic_deactivates_that_target_only(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    await save_chat(db, chat_id=-20, type="supergroup", title="Forum", is_forum=True, now=0)
    for thread in (0, 5):
        await ensure_target(db, -20, thread, ui_language="en", timezone="UTC", now=0)
    telegram.script[-20] = [bad_request("message thread not found")]
    await outbox.enqueue(
        db,
        [
            NewMessage.text(-20, "topic", kind="digest", thread_id=5),
            NewMessage.text(-20, "topic again", kind="digest", thread_id=5),
            NewMessage.text(-20, "general", kind="digest"),
        ],
    )
    assert await drain(db, bot, **QUICK) == {"dropped": 1, "sent": 1}
    topic, general = await get_target(db, -20, 5), await get_target(db, -20, 0)
    assert topic is not None
    assert general is not None
    assert (topic.active, general.active) == (False, True)
    assert [m.params["text"] for m in telegram.delivered] == ["general"]


async def test_content_errors_fail_at_once(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    telegram.script[1] = [bad_request("can't parse entities: unclosed tag")]
    await outbox.enqueue(db, [NewMessage.text(1, "<b>", kind="digest")])
    assert await drain(db, bot, **QUICK) == {"failed": 1}
    (row,) = (await rows(db)).values()
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert row["last_error"] == "BadRequest: Can't parse entities: unclosed tag"


async def test_transient_errors_are_retried_then_sent(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    telegram.script[1] = [SERVER_ERROR, TIMEOUT, SERVER_ERROR]
    await outbox.enqueue(db, [NewMessage.text(1, "x", kind="digest")])
    assert await drain(db, bot, **QUICK) == {"retry": 3, "sent": 1}
    (row,) = (await rows(db)).values()
    assert (row["state"], row["attempts"]) == ("sent", 4)
    assert len(telegram.delivered) == 1


async def test_persistent_server_errors_fail_after_max_attempts(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    telegram.always[1] = SERVER_ERROR
    await outbox.enqueue(db, [NewMessage.text(1, "x", kind="digest")])
    assert await drain(db, bot, max_attempts=3, **QUICK) == {"retry": 2, "failed": 1}
    (row,) = (await rows(db)).values()
    assert (row["state"], row["attempts"]) == ("failed", 3)
    assert row["last_error"] == "NetworkError: Bad Gateway (after 3 attempts)"


async def test_a_429_the_limiter_gives_up_on_is_queued_for_later(
    db: Database, telegram: FakeTelegram
) -> None:
    bot = fake_bot(telegram, max_retries=0)
    telegram.script[1] = [retry_after(1)]
    await outbox.enqueue(db, [NewMessage.text(1, "x", kind="digest")])
    sender = OutboxSender(db, bot, **QUICK)
    await sender.start()
    try:
        await wait_until(lambda: _retry_recorded(db))
        (row,) = (await rows(db)).values()
        assert row["state"] == "pending"
        assert row["last_error"].startswith("RetryAfter")
        assert row["not_before"] > 0
        await asyncio.wait_for(sender.wait_empty(), 3)
    finally:
        await sender.stop()
    assert sender.counts == {"retry": 1, "sent": 1}


async def _retry_recorded(db: Database) -> bool:
    return any(row["last_error"] for row in (await rows(db)).values())


async def _state_is(db: Database, state: str) -> bool:
    return [row["state"] for row in (await rows(db)).values()] == [state]


async def test_on_finished_hears_every_final_outcome(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    heard: list[tuple[int, Outcome]] = []

    async def finished(row: OutboxRow, outcome: Outcome) -> None:
        heard.append((row.chat_id, outcome))

    telegram.script[2] = [forbidden()]
    telegram.script[3] = [bad_request("message is too long"), SERVER_ERROR]
    telegram.script[4] = [SERVER_ERROR]
    await outbox.enqueue(db, [NewMessage.text(chat, "x", kind="digest") for chat in (1, 2, 3, 4)])
    await drain(db, bot, on_finished=finished, **QUICK)
    assert sorted(heard) == [(1, "sent"), (2, "dropped"), (3, "failed"), (4, "sent")]


async def test_serving_picks_up_new_rows_when_woken(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    sender = OutboxSender(db, bot, backoff_base=0.01, idle_poll=30)
    await sender.start()
    try:
        await asyncio.wait_for(sender.wait_empty(), 2)
        await outbox.enqueue(db, [NewMessage.text(1, "late", kind="notice")])
        sender.wake()
        await wait_until(lambda: _state_is(db, "sent"), within=2)
    finally:
        await sender.stop()


async def test_stop_lets_requests_finish_and_a_new_sender_resumes(
    db: Database, telegram: FakeTelegram
) -> None:
    slow = Limits(rate_per_second=50, private_interval=0.0)
    await outbox.enqueue(db, [NewMessage.text(chat, "x", kind="digest") for chat in range(1, 101)])
    sender = OutboxSender(db, fake_bot(telegram, slow), max_in_flight=8)
    await sender.start()
    await wait_until(lambda: _count_sent_at_least(telegram, 10))
    await sender.stop(grace=1)
    stopped_at = len(telegram.delivered)
    stored = await rows(db)
    assert {row["state"] for row in stored.values()} <= {"sent", "pending"}
    assert sum(row["state"] == "sent" for row in stored.values()) == stopped_at

    counts = await drain(db, fake_bot(telegram), **QUICK)
    assert counts == {"sent": 100 - stopped_at}
    assert sorted(m.chat_id for m in telegram.delivered) == list(range(1, 101))


async def test_stop_after_grace_puts_waiting_rows_back(
    db: Database, telegram: FakeTelegram
) -> None:
    bot = fake_bot(telegram)
    limiter = bot.rate_limiter
    assert limiter is not None
    await outbox.enqueue(db, [NewMessage.text(1, "x", kind="digest")])
    sender = OutboxSender(db, bot)
    limiter.planner.pause_all(asyncio.get_running_loop().time() + 60)  # type: ignore[attr-defined]
    await sender.start()
    await wait_until(lambda: _state_is(db, "sending"))
    await sender.stop(grace=0.05)
    (row,) = (await rows(db)).values()
    assert (row["state"], row["last_error"]) == ("pending", "interrupted by shutdown")
    assert telegram.delivered == []


async def _count_sent_at_least(telegram: FakeTelegram, n: int) -> bool:
    return len(telegram.delivered) >= n


async def test_rows_left_in_flight_by_a_dead_process_are_sent_on_start(
    db: Database, bot: ExtBot[Any], telegram: FakeTelegram
) -> None:
    await outbox.enqueue(db, [NewMessage.text(1, "x", kind="digest")])
    await outbox.claim(db, limit=1, now=1e12)  # the process died here
    assert await drain(db, bot, **QUICK) == {"sent": 1}


async def test_priorities_decide_what_goes_first(db: Database, telegram: FakeTelegram) -> None:
    bot = fake_bot(telegram, Limits(rate_per_second=200))
    await outbox.enqueue(db, [NewMessage.text(c, "b", kind="broadcast") for c in range(1, 31)])
    await outbox.enqueue(db, [NewMessage.text(c, "d", kind="digest") for c in range(31, 41)])
    await outbox.enqueue(db, [NewMessage.text(99, "n", kind="notice")])
    await drain(db, bot, max_in_flight=1, **QUICK)
    kinds = [m.params["text"] for m in telegram.delivered]
    assert kinds == ["n"] + ["d"] * 10 + ["b"] * 30


def test_a_bot_without_the_rate_limiter_is_refused(telegram: FakeTelegram, tmp_path: Path) -> None:
    plain = ExtBot("1:x", request=telegram)
    with pytest.raises(TypeError, match="TelegramRateLimiter"):
        OutboxSender(None, plain)  # type: ignore[arg-type]


def test_backoff_grows_to_a_cap_with_jitter(bot: ExtBot[Any]) -> None:
    sender = OutboxSender(
        None,  # type: ignore[arg-type]
        bot,
        backoff_base=2,
        backoff_cap=60,
        rng=random.Random(1),
    )
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (6, 60), (30, 60)]:
        delays = [sender.backoff(attempts) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


async def test_a_restart_paces_chats_the_last_process_just_wrote_to(
    db: Database, telegram: FakeTelegram
) -> None:
    bot = fake_bot(telegram, Limits(private_interval=1.05))
    await outbox.enqueue(db, [NewMessage.text(chat, "x", kind="digest") for chat in (1, 2, 3)])
    done, in_flight, old = await outbox.claim(db, limit=3, now=1e12)
    await outbox.mark_sent(db, done.id, 1, now=time.time())  # the killed process sent this
    await outbox.mark_sent(db, old.id, 1, now=time.time() - 3600)  # and this, long ago
    sender = OutboxSender(db, bot, idle_poll=30)
    limiter = bot.rate_limiter
    assert isinstance(limiter, TelegramRateLimiter)
    limiter.planner.pause_all(asyncio.get_running_loop().time() + 60)  # hold sending still
    await sender.start()
    try:
        assert limiter.busy_chats(within=0.5) >= {done.chat_id, in_flight.chat_id}
        assert old.chat_id not in limiter.busy_chats(within=0.0)
    finally:
        await sender.stop(grace=0)
