"""The PTB rate limiter with scripted callbacks in place of HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.delivery.limits import Limits
from bot.delivery.ratelimiter import (
    BULK,
    RateLimitArgs,
    TelegramRateLimiter,
    chat_key,
    consumes_budget,
)

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

FAST = Limits(rate_per_second=1000, private_interval=0.2, group_interval=0.5)


class Recorder:
    """A stand-in for the HTTP call: records when each request was made."""

    def __init__(self, floods: dict[Any, list[float]] | None = None) -> None:
        self.calls: list[tuple[str, Any, float]] = []
        self.floods = floods or {}

    def callback(self, endpoint: str, chat: Any) -> Callable[[], Coroutine[Any, Any, bool]]:
        async def call() -> bool:
            self.calls.append((endpoint, chat, asyncio.get_running_loop().time()))
            pending = self.floods.get(chat)
            if pending:
                raise RetryAfter(timedelta(seconds=pending.pop(0)))
            return True

        return call

    def times(self, chat: Any) -> list[float]:
        return [at for _, c, at in self.calls if c == chat]


async def request(
    limiter: TelegramRateLimiter,
    recorder: Recorder,
    chat: Any,
    *,
    endpoint: str = "sendMessage",
    args: RateLimitArgs | None = None,
) -> Any:
    return await limiter.process_request(
        callback=recorder.callback(endpoint, chat),
        args=(),
        kwargs={},
        endpoint=endpoint,
        data={"chat_id": chat, "text": "x"},
        rate_limit_args=args,
    )


@pytest.mark.parametrize(
    ("endpoint", "metered"),
    [
        ("sendMessage", True),
        ("send_photo", True),
        ("sendMediaGroup", True),
        ("copyMessage", True),
        ("forwardMessages", True),
        ("sendChatAction", False),
        ("getUpdates", False),
        ("answerCallbackQuery", False),
        ("answerInlineQuery", False),
        ("editMessageText", False),
        ("getChat", False),
    ],
)
def test_only_message_sends_consume_budget(endpoint: str, metered: bool) -> None:
    assert consumes_budget(endpoint) is metered


def test_chat_keys() -> None:
    assert chat_key(5) == 5
    assert chat_key("-100") == -100
    assert chat_key("@news") == "@news"
    assert chat_key(None) is None


async def test_sends_are_spaced_overall_and_per_chat() -> None:
    limiter = TelegramRateLimiter(Limits(rate_per_second=50, private_interval=0.3, private_burst=1))
    recorder = Recorder()
    await asyncio.gather(
        *(request(limiter, recorder, chat) for chat in range(1, 11)),
        *(request(limiter, recorder, 1) for _ in range(2)),
    )
    times = sorted(at for _, _, at in recorder.calls)
    # Grants keep to a schedule of one every 1/50 s from the first: a late one does
    # not move the next, so delays on a busy machine only ever make a send later.
    assert all(at - times[0] >= k * 0.02 - 0.002 for k, at in enumerate(times))
    one = recorder.times(1)
    assert all(b - a >= 0.3 - 0.002 for a, b in pairwise(one))
    # Chat 1's later messages wait for its interval, the other chats do not wait
    # behind them: an order, not a duration, so a busy machine cannot fail it.
    assert [chat for _, chat, _ in recorder.calls][-2:] == [1, 1], "others waited behind chat 1"


async def test_other_methods_pass_straight_through_even_during_a_pause() -> None:
    limiter = TelegramRateLimiter(FAST)
    limiter.planner.pause_all(asyncio.get_running_loop().time() + 30)
    recorder = Recorder()
    for endpoint in ("answerCallbackQuery", "editMessageText", "getChat", "sendChatAction"):
        assert await asyncio.wait_for(request(limiter, recorder, 1, endpoint=endpoint), 1)


async def test_interactive_replies_go_before_queued_bulk() -> None:
    limiter = TelegramRateLimiter(Limits(rate_per_second=20))
    recorder = Recorder()
    bulk = [asyncio.create_task(request(limiter, recorder, c, args=BULK)) for c in range(1, 21)]
    await asyncio.sleep(0.12)
    await request(limiter, recorder, 999)
    position = [chat for _, chat, _ in recorder.calls].index(999)
    assert position <= 4, f"the reply waited behind {position} bulk messages"
    await asyncio.gather(*bulk)


async def test_a_429_pauses_its_chat_for_exactly_retry_after_then_retries() -> None:
    limiter = TelegramRateLimiter(FAST)
    recorder = Recorder(floods={1: [0.4]})
    loop = asyncio.get_running_loop()
    start = loop.time()
    first = asyncio.create_task(request(limiter, recorder, 1))
    await asyncio.sleep(0.05)
    assert await request(limiter, recorder, 2), "another chat is not held up"
    assert loop.time() - start < 0.2
    assert await first
    flooded, retried = recorder.times(1)
    assert retried - flooded == pytest.approx(0.4, abs=0.03)
    assert limiter.flood_waits == 1


async def test_429s_in_several_chats_pause_the_whole_bot() -> None:
    limiter = TelegramRateLimiter(FAST)
    recorder = Recorder(floods={1: [0.5], 2: [0.5], 3: [0.5]})
    loop = asyncio.get_running_loop()
    flooded = [asyncio.create_task(request(limiter, recorder, chat)) for chat in (1, 2, 3)]
    await asyncio.sleep(0.05)
    asked = loop.time()
    await request(limiter, recorder, 4)
    assert loop.time() - asked >= 0.4
    await asyncio.gather(*flooded)


async def test_a_finishing_request_does_not_release_a_pause() -> None:
    """python-telegram-bot issue #5338: AIORateLimiter's pause ends when any request ends."""
    limiter = TelegramRateLimiter(FAST)
    recorder = Recorder(floods={1: [0.6], 2: [0.6], 3: [0.6]})
    loop = asyncio.get_running_loop()
    slow_started = asyncio.Event()

    async def slow_send() -> bool:
        slow_started.set()
        await asyncio.sleep(0.2)  # in flight when the pause starts, finishes during it
        return True

    slow = asyncio.create_task(
        limiter.process_request(slow_send, (), {}, "sendMessage", {"chat_id": 7}, None)
    )
    await slow_started.wait()
    flooded = [asyncio.create_task(request(limiter, recorder, chat)) for chat in (1, 2, 3)]
    await asyncio.sleep(0.05)
    paused_at = loop.time()
    assert await slow
    await request(limiter, recorder, 4)
    assert loop.time() - paused_at >= 0.5
    await asyncio.gather(*flooded)


async def test_max_retries_lets_the_429_reach_the_caller() -> None:
    limiter = TelegramRateLimiter(FAST, max_retries=1)
    recorder = Recorder(floods={1: [0.05, 0.05]})
    with pytest.raises(RetryAfter):
        await request(limiter, recorder, 1)
    assert len(recorder.times(1)) == 2


async def test_a_429_on_an_unmetered_method_waits_and_retries_that_request() -> None:
    limiter = TelegramRateLimiter(FAST)
    recorder = Recorder(floods={1: [0.2]})
    assert await request(limiter, recorder, 1, endpoint="editMessageText")
    first, second = recorder.times(1)
    assert second - first == pytest.approx(0.2, abs=0.03)


async def test_a_cancelled_waiter_gives_up_its_place() -> None:
    limiter = TelegramRateLimiter(FAST)
    limiter.planner.pause_chat(1, asyncio.get_running_loop().time() + 0.3)
    recorder = Recorder()
    waiting = asyncio.create_task(request(limiter, recorder, 1))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert len(limiter.planner) == 0
    await asyncio.sleep(0.35)
    assert recorder.calls == []


async def test_shutdown_cancels_waiting_requests() -> None:
    limiter = TelegramRateLimiter(FAST)
    limiter.planner.pause_all(asyncio.get_running_loop().time() + 30)
    waiting = asyncio.create_task(request(limiter, Recorder(), 1))
    await asyncio.sleep(0.01)
    await limiter.shutdown()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_busy_chats_and_readiness_for_the_sender() -> None:
    limiter = TelegramRateLimiter(Limits(rate_per_second=1000, group_interval=3.15))
    await request(limiter, Recorder(), -100)
    assert -100 in limiter.busy_chats(within=1.0)
    wait = limiter.seconds_until_ready([-100])
    assert wait is not None
    assert 3.0 < wait <= 3.15
    assert limiter.seconds_until_ready([]) is None


async def _paid_request(
    limiter: TelegramRateLimiter,
    recorder: Recorder,
    chat: Any,
    args: RateLimitArgs | None = None,
) -> Any:
    return await limiter.process_request(
        callback=recorder.callback("sendMessage", chat),
        args=(),
        kwargs={},
        endpoint="sendMessage",
        data={"chat_id": chat, "text": "x", "allow_paid_broadcast": True},
        rate_limit_args=args or BULK,
    )


async def test_the_paid_flag_takes_the_paid_budget_when_there_is_one() -> None:
    paused = asyncio.get_running_loop().time() + 30
    limiter = TelegramRateLimiter(Limits(rate_per_second=30, paid_rate_per_second=1000))
    limiter.planner.pause_all(paused)  # the free budget only
    recorder = Recorder()
    await asyncio.wait_for(
        asyncio.gather(*(_paid_request(limiter, recorder, chat) for chat in range(1, 21))), 10
    )
    assert len(recorder.calls) == 20, "paid messages do not wait for the free budget"
    waiting = asyncio.ensure_future(request(limiter, recorder, 99, args=BULK))
    await asyncio.sleep(0.05)
    assert not waiting.done(), "the free budget is still paused"
    await limiter.shutdown()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    # Without a paid budget the flag changes nothing here: the free budget paces it.
    free_only = TelegramRateLimiter(Limits(rate_per_second=30))
    free_only.planner.pause_all(paused)
    flagged = asyncio.ensure_future(_paid_request(free_only, recorder, 7))
    await asyncio.sleep(0.05)
    assert not flagged.done()
    await free_only.shutdown()
    with pytest.raises(asyncio.CancelledError):
        await flagged


async def test_each_429_is_told_to_the_request_s_hook() -> None:
    limiter = TelegramRateLimiter(Limits(rate_per_second=1000, paid_rate_per_second=1000))
    recorder = Recorder(floods={5: [0.01, 0.02]})
    told: list[float] = []

    async def note(seconds: float) -> None:
        told.append(seconds)

    await _paid_request(limiter, recorder, 5, {"bulk": True, "on_retry_after": note})
    assert told == [0.01, 0.02]
    assert len(recorder.times(5)) == 3, "sent again after each pause"
