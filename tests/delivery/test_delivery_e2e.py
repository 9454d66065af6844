"""End to end: outbox -> sender -> rate limiter -> PTB -> HTTP -> the Bot API emulator.

The emulator enforces flood limits. Most runs use Telegram's limits sped up
(every interval divided, the per-second budget multiplied) so a run takes
seconds; `test_default_limits_meet_telegram_s_real_limits` uses the real ones.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from telegram.error import BadRequest
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.delivery.limits import Limits
from bot.delivery.ratelimiter import TelegramRateLimiter
from bot.delivery.sender import drain, free_in_flight
from bot.emulator import ChatFault, Emulator, FaultPlan, FloodLimits, RequestRecord
from bot.store import broadcasts, outbox
from bot.store.chats import ensure_target, get_chat, get_target, save_chat
from bot.store.db import Database
from bot.store.outbox import NewMessage
from bot.store.sqlite import SQLiteDatabase
from bot.telegram.request import AiohttpRequest

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

# Telegram's limits with time running faster: 100/s overall, 0.1 s per chat,
# 20 per 3 s per group ...
FAST_TELEGRAM = FloodLimits(
    per_bot_per_second=100, per_chat_interval=0.1, per_group_per_minute=20, group_window=3.0
)
# ... and ours, with the same margins our defaults keep under the real ones.
FAST_OURS = Limits(
    rate_per_second=93, private_interval=0.105, group_interval=0.1575, flood_window=0.3
)

RUNNER = Path(__file__).with_name("drain_runner.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(enforce_limits=True, limits=FAST_TELEGRAM) as emulator:
        yield emulator
        errors = emulator.protocol_errors
        assert not errors, "protocol errors:\n" + "\n".join(map(str, errors))


def make_bot(emulator: Emulator, limits: Limits, *, read_timeout: float = 5.0) -> ExtBot[Any]:
    return ExtBot(
        emulator.token,
        base_url=emulator.base_url,
        base_file_url=emulator.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout, connection_pool_size=64),
        rate_limiter=TelegramRateLimiter(limits),
    )


def flood_waits(bot: ExtBot[Any]) -> int:
    limiter = bot.rate_limiter
    assert isinstance(limiter, TelegramRateLimiter)
    return limiter.flood_waits


def texts(emulator: Emulator, chat_id: int, thread_id: int | None = None) -> list[str | None]:
    """The bot's text messages (not service messages such as a topic's creation)."""
    messages = emulator.bot_messages(chat_id, thread_id=thread_id)
    return [m.text for m in messages if not m.service]


def accepted_at(emulator: Emulator, chat_id: int) -> list[float]:
    return [
        record.at
        for record in emulator.calls("sendMessage")
        if record.ok and int(record.params["chat_id"]) == chat_id
    ]


async def test_bulk_run_keeps_to_the_limits(emulator: Emulator, db: Database) -> None:
    users = [emulator.add_user(f"reader {i}") for i in range(300)]
    group = emulator.add_group("Readers")
    await outbox.enqueue(
        db, [NewMessage.text(group.id, f"part {i}", kind="post") for i in range(30)]
    )
    await outbox.enqueue(db, [NewMessage.text(u.id, f"for {u.id}", kind="digest") for u in users])

    async with make_bot(emulator, FAST_OURS) as bot:
        counts = await asyncio.wait_for(drain(db, bot), 30)
        waits = flood_waits(bot)

    assert counts == {"sent": 330}
    assert emulator.stats().flood_429 == 0
    assert waits == 0
    for user in users:
        assert texts(emulator, user.id) == [f"for {user.id}"]
    assert texts(emulator, group.id) == [f"part {i}" for i in range(30)]
    group_times = accepted_at(emulator, group.id)
    assert min(b - a for a, b in pairwise(group_times)) >= FAST_OURS.group_interval - 0.03
    assert all(b - a >= 2.95 for a, b in zip(group_times, group_times[20:], strict=False))


async def test_default_limits_meet_telegram_s_real_limits(db: Database) -> None:
    async with Emulator(enforce_limits=True) as emulator:
        users = [emulator.add_user(f"reader {i}") for i in range(56)]
        group = emulator.add_group("Readers")
        await outbox.enqueue(db, [NewMessage.text(group.id, str(i), kind="post") for i in range(3)])
        await outbox.enqueue(db, [NewMessage.text(u.id, "hi", kind="digest") for u in users])
        async with make_bot(emulator, Limits()) as bot:
            assert await asyncio.wait_for(drain(db, bot), 20) == {"sent": 59}
            assert flood_waits(bot) == 0
        assert emulator.stats().flood_429 == 0
        assert not emulator.protocol_errors
        group_times = accepted_at(emulator, group.id)
        assert min(b - a for a, b in pairwise(group_times)) >= 3.15 - 0.03


async def test_faults_are_survived_and_every_live_chat_served_once(
    emulator: Emulator, db: Database
) -> None:
    users = [emulator.add_user(f"reader {i}") for i in range(200)]
    blocked = {user.id for user in random.Random(5).sample(users, 6)}
    for user in users:
        await save_chat(db, chat_id=user.id, type="private", title=None, now=0)
        if user.id in blocked:
            emulator.inject_chat_fault(user.id, ChatFault.BLOCKED)
    emulator.fault_plan = FaultPlan(
        seed=3, rate_429=0.05, rate_5xx=0.02, rate_timeout=0.01, timeout_delay=1.0
    )
    # Every fourth chat, and every blocked one, has a second message queued behind the first.
    two = {u.id for u in users[::4]} | blocked
    await outbox.enqueue(db, [NewMessage.text(u.id, "1", kind="digest") for u in users])
    await outbox.enqueue(db, [NewMessage.text(chat, "2", kind="digest") for chat in sorted(two)])

    async with make_bot(emulator, FAST_OURS, read_timeout=0.5) as bot:
        counts = await asyncio.wait_for(
            drain(db, bot, backoff_base=0.05, backoff_cap=0.5, max_attempts=8), 40
        )

    faults = emulator.stats().faults
    assert faults.get("429", 0) > 0
    assert faults.get("5xx", 0) > 0
    assert faults.get("timeout", 0) > 0
    assert emulator.stats().flood_429 == 0
    assert counts["sent"] == 200 - 6 + len(two - blocked)
    assert counts["dropped"] == 6
    assert "failed" not in counts
    for user in users:
        if user.id in blocked:
            assert texts(emulator, user.id) == []
            chat = await get_chat(db, user.id)
            assert chat is not None
            assert not chat.active
        else:
            assert texts(emulator, user.id) == (["1", "2"] if user.id in two else ["1"])
    rows = await db.fetchall("SELECT chat_id, state FROM outbox")
    assert {row["state"] for row in rows if row["chat_id"] in blocked} == {"dropped"}
    assert sum(row["chat_id"] in blocked for row in rows) == 12
    assert await outbox.depth(db) == 0


async def test_migrated_group_and_deleted_topic(emulator: Emulator, db: Database) -> None:
    group = emulator.add_group("Old group")
    forum = emulator.add_supergroup("Forum", forum=True)
    news = emulator.add_topic(forum.id, "News")
    gone = emulator.add_topic(forum.id, "Gone")
    await save_chat(db, chat_id=group.id, type="group", title="Old group", now=0)
    await ensure_target(db, group.id, ui_language="en", timezone="UTC", now=0)
    await save_chat(db, chat_id=forum.id, type="supergroup", title="Forum", is_forum=True, now=0)
    for thread in (0, news, gone):
        await ensure_target(db, forum.id, thread, ui_language="en", timezone="UTC", now=0)
    emulator.inject_chat_fault(group.id, ChatFault.MIGRATED)
    supergroup = emulator.chat(group.id).migrated_to
    assert supergroup is not None
    emulator.inject_thread_fault(forum.id, gone)

    await outbox.enqueue(
        db,
        [NewMessage.text(group.id, f"g{i}", kind="digest") for i in range(3)]
        + [NewMessage.text(forum.id, f"gone{i}", kind="digest", thread_id=gone) for i in range(2)]
        + [
            NewMessage.text(
                forum.id,
                "news",
                kind="digest",
                thread_id=news,
                link_preview_options={"is_disabled": True},
                reply_markup={"inline_keyboard": [[{"text": "More", "callback_data": "more"}]]},
            )
        ]
        + [NewMessage.text(forum.id, "general", kind="digest")],
    )
    async with make_bot(emulator, FAST_OURS) as bot:
        counts = await asyncio.wait_for(drain(db, bot), 20)

    assert counts == {"sent": 5, "retry": 1, "dropped": 1}
    assert texts(emulator, supergroup) == ["g0", "g1", "g2"]
    assert texts(emulator, forum.id, thread_id=news) == ["news"]
    (news_message,) = [m for m in emulator.bot_messages(forum.id, thread_id=news) if m.text]
    assert news_message.callback_data == ["more"]
    assert "general" in texts(emulator, forum.id)
    assert texts(emulator, forum.id, thread_id=gone) == []
    moved = await get_chat(db, supergroup)
    assert moved is not None
    assert (moved.type, moved.active) == ("supergroup", True)
    assert await get_chat(db, group.id) is None
    assert await get_target(db, supergroup) is not None
    gone_target, news_target = (
        await get_target(db, forum.id, gone),
        await get_target(db, forum.id, news),
    )
    assert gone_target is not None
    assert news_target is not None
    assert (gone_target.active, news_target.active) == (False, True)
    forum_chat = await get_chat(db, forum.id)
    assert forum_chat is not None
    assert forum_chat.active
    dropped = await db.fetchval("SELECT count(*) FROM outbox WHERE state = 'dropped'")
    assert dropped == 2


def delivered_at_least(emulator: Emulator, n: int) -> Callable[[], bool | None]:
    return lambda: emulator.stats().delivered >= n or None


async def _start_runner(db_path: Path, emulator: Emulator) -> asyncio.subprocess.Process:
    limits = FAST_OURS
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(RUNNER),
        str(db_path),
        emulator.base_url,
        emulator.token,
        "--rate=30",
        f"--private-interval={limits.private_interval}",
        f"--group-interval={limits.group_interval}",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 20)
    assert line.strip() == b"started", line
    return process


async def test_killed_sender_resumes_without_loss(
    emulator: Emulator, db: SQLiteDatabase, tmp_path: Path
) -> None:
    """SIGKILL lands just after the emulator accepted a message, before the runner could
    record it: that message goes again. A second duplicate would need another request
    accepted in the same few milliseconds, which 30 messages a second leaves no room for."""
    users = [emulator.add_user(f"reader {i}") for i in range(160)]
    await outbox.enqueue(db, [NewMessage.text(u.id, f"for {u.id}", kind="digest") for u in users])

    kills = 0
    for kill_after in (40, 100):
        process = await _start_runner(db.path, emulator)
        await emulator.wait_for(delivered_at_least(emulator, kill_after), timeout=20)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        kills += 1
        assert process.returncode == -signal.SIGKILL
    process = await _start_runner(db.path, emulator)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()[-2000:]

    per_chat = [len(texts(emulator, user.id)) for user in users]
    assert min(per_chat) == 1, "every message was delivered"
    duplicates = sum(n - 1 for n in per_chat)
    print(f"\n{duplicates} duplicate(s) after {kills} kills")
    assert duplicates <= kills, f"{duplicates} duplicates after {kills} kills"
    assert emulator.stats().flood_429 == 0
    assert await outbox.depth(db) == 0
    states = await db.fetchall("SELECT DISTINCT state FROM outbox")
    assert [row["state"] for row in states] == ["sent"]


async def test_a_paid_broadcast_looks_up_due_retries_once_not_per_claim_round(
    emulator: Emulator, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding when the next retry falls due walks every pending row. During a paid
    broadcast the free budget's room is never filled, so every claim round (about one
    per finished request) "came up short" and asked again: the rounds grow with the
    audience and so does each walk (60 lookups here before). Nothing was put back or
    queued meanwhile, so once is enough."""
    users = [emulator.add_user(f"reader {i}") for i in range(600)]
    draft = await broadcasts.create_draft(
        db,
        admin_id=1,
        admin_chat_id=users[0].id,
        audience="all",
        method="sendMessage",
        params={"text": "Paid news", "parse_mode": "HTML"},
        now=1,
    )
    await outbox.enqueue(
        db, [NewMessage.of_broadcast(u.id, draft.id, "sendMessage", paid=True) for u in users]
    )
    lookups = 0
    next_due = outbox.next_due

    async def counted(db: Database, after: float) -> float | None:
        nonlocal lookups
        lookups += 1
        return await next_due(db, after)

    monkeypatch.setattr(outbox, "next_due", counted)
    paid = Limits(
        rate_per_second=93,
        private_interval=0.105,
        group_interval=0.1575,
        flood_window=0.3,
        paid_rate_per_second=1_000,
    )
    async with make_bot(emulator, paid) as bot:
        # idle_poll: long enough that no idle poll's re-check falls within the run.
        counts = await asyncio.wait_for(drain(db, bot, paid_in_flight=48, idle_poll=30), 30)

    assert counts == {"sent": len(users)}
    assert emulator.stats().paid_messages == len(users)
    assert emulator.stats().flood_429 == 0
    # Once, when the first round comes up short: not once per round.
    assert lookups <= 2, lookups


async def test_a_refused_reply_is_asked_once(emulator: Emulator) -> None:
    """A 400 is Telegram's answer, not a hiccup: an interactive request that gets
    one is not repeated (python-telegram-bot's BadRequest is a NetworkError, which
    the limiter rides out for a person waiting on a reply)."""
    bot = make_bot(emulator, FAST_OURS)
    async with bot:
        with pytest.raises(BadRequest):
            await bot.send_message(chat_id=987_654_321, text="hello")
    assert [r.params.get("chat_id") for r in emulator.calls("sendMessage")] == ["987654321"]
    [refused] = emulator.take_protocol_errors()  # the unknown chat was the point
    assert refused.status == 400


def most_at_once(records: Sequence[RequestRecord]) -> int:
    """The most requests the emulator was answering at one moment (each from its
    arrival, `at - duration`, to its answer, `at`)."""
    edges = sorted(
        [(record.at - record.duration, 1) for record in records]
        + [(record.at, -1) for record in records]
    )
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


async def test_a_budget_past_what_32_requests_carry_keeps_more_in_flight(db: Database) -> None:
    """With Telegram's budget the sender keeps 32 requests in flight; with a budget
    raised far past it (a paid rate, or limits lifted) answers that take 0.2 s
    would cap it at 160 a second with 32: it keeps more in flight, and the
    server sees them at once. Nothing is timed: a bot holding 32 requests can
    never have more than 32 open at the server."""
    assert free_in_flight(Limits().rate_per_second) == 32
    slow = FaultPlan(seed=3, rate_slow=1.0, slow_latency=0.2)
    async with Emulator(faults=slow) as emulator:
        users = [emulator.add_user(f"reader {i}") for i in range(300)]
        await outbox.enqueue(
            db, [NewMessage.text(u.id, f"for {u.id}", kind="digest") for u in users]
        )
        lifted = Limits(rate_per_second=10_000)
        async with ExtBot(
            emulator.token,
            base_url=emulator.base_url,
            base_file_url=emulator.base_file_url,
            request=AiohttpRequest(),
            rate_limiter=TelegramRateLimiter(lifted),
        ) as bot:
            counts = await asyncio.wait_for(drain(db, bot), 60)
        sends = emulator.calls("sendMessage")
    assert counts == {"sent": 300}
    assert most_at_once(sends) > 32
    assert most_at_once(sends) <= free_in_flight(lifted.rate_per_second)
