"""The flood planner under simulated time: whatever happens, the limits hold."""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.limits import CATCH_UP, ChatKey, FloodPlanner, Limits, is_group_like

EPS = 1e-9


@dataclass(frozen=True)
class Submit:
    at: float
    chat: ChatKey | None
    bulk: bool
    paid: bool = False


@dataclass(frozen=True)
class Flood:
    at: float
    chat: ChatKey | None
    retry_after: float
    paid: bool = False


@dataclass(frozen=True)
class PauseAll:
    at: float
    duration: float


Event = Submit | Flood | PauseAll


@dataclass(frozen=True)
class Grant:
    key: int
    chat: ChatKey | None
    at: float
    bulk: bool
    last_key_seen: int
    paid: bool = False


@dataclass
class Run:
    grants: list[Grant]
    pauses: list[tuple[ChatKey | None, int, float, bool]]
    """chat (None: a whole budget), grants before, until, the paid budget's"""
    polls: int
    submitted: dict[int, Submit]


def simulate(limits: Limits, events: Sequence[Event]) -> Run:
    """Drive a planner the way the rate limiter does: poll at each event and wake-up.
    Every message is answered the moment it is granted."""
    planner = FloodPlanner(limits)
    queue = sorted(events, key=lambda event: event.at)
    submitted: dict[int, Submit] = {}
    grants: list[Grant] = []
    pauses: list[tuple[ChatKey | None, int, float, bool]] = []
    now = 0.0
    polls = 0
    index = 0

    def poll() -> None:
        nonlocal polls
        polls += 1
        for key in planner.poll(now):
            assert isinstance(key, int)
            submit = submitted[key]
            grants.append(Grant(key, submit.chat, now, submit.bulk, index, submit.paid))
            planner.completed(submit.chat, now, key=key)
        wake = planner.next_poll_at()
        assert wake is None or wake > now, "a driver sleeping until next_poll_at would spin"

    while index < len(queue) or len(planner):
        wake = planner.next_poll_at()
        event_at = queue[index].at if index < len(queue) else math.inf
        if wake is not None and wake < event_at:
            now = wake
            poll()
            continue
        now = event_at
        event = queue[index]
        index += 1
        if isinstance(event, Submit):
            submitted[index] = event
            planner.submit(index, event.chat, bulk=event.bulk, paid=event.paid)
        elif isinstance(event, Flood):
            until = now + event.retry_after
            scope = planner.on_retry_after(event.chat, event.retry_after, now, paid=event.paid)
            if event.chat is not None:
                pauses.append((event.chat, len(grants), until, event.paid))
            if scope == "all":
                pauses.append((None, len(grants), until, event.paid))
        else:
            planner.pause_all(now + event.duration)
            pauses.append((None, len(grants), now + event.duration, False))
        poll()
    return Run(grants, pauses, polls, submitted)


def assert_within_limits(limits: Limits, run: Run) -> None:
    assert [grant.at for grant in run.grants] == sorted(grant.at for grant in run.grants)
    for paid, rate in ((False, limits.rate_per_second), (True, limits.paid_rate_per_second)):
        # Each budget on its own: the free one never counts the paid broadcasts' messages.
        times = [grant.at for grant in run.grants if grant.paid == paid]
        for i, first in enumerate(times):
            # Spaced 1/rate apart on average: a grant made late is made up, by under
            # half a gap (or CATCH_UP, for a budget whose gaps are that short), so k
            # more grants take at least k gaps less that.
            made_up = max(0.5 / rate, CATCH_UP)
            for k, then in enumerate(times[i + 1 : i + 40], start=1):
                assert then - first >= k / rate - made_up - EPS
        per_second = math.ceil(rate - EPS)
        for i, start in enumerate(times):
            assert sum(1 for t in times[i:] if t < start + 1.0 - EPS) <= per_second

    by_chat: dict[ChatKey, list[Grant]] = defaultdict(list)
    for grant in run.grants:
        if grant.chat is not None:
            by_chat[grant.chat].append(grant)
    for chat, chat_grants in by_chat.items():
        interval, burst = limits.chat_interval(chat), limits.chat_burst(chat)
        chat_times = [grant.at for grant in chat_grants]
        for i, start in enumerate(chat_times):
            for j in range(i, len(chat_times)):
                # A token bucket: never more than the burst plus what refilled meanwhile.
                refilled = (chat_times[j] - start) / interval if interval else math.inf
                assert j - i + 1 <= burst + refilled + EPS, (chat, chat_times)
        for earlier, later in pairwise(chat_grants):
            if later.bulk:
                assert later.at - earlier.at >= interval - EPS, "bulk never bursts"
        if is_group_like(chat) and limits.group_interval >= 3.0:
            for i, start in enumerate(chat_times):
                assert sum(1 for t in chat_times[i:] if t < start + 60.0) <= 20

    for paused, before, until, budget in run.pauses:
        for grant in run.grants[before:]:
            if grant.paid == budget if paused is None else grant.chat == paused:
                assert grant.at >= until - EPS, (grant, paused, until)


chats = st.one_of(
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=-4, max_value=-1),
    st.just("@channel"),
    st.none(),
)
times = st.floats(min_value=0, max_value=30, allow_nan=False)
submits = st.builds(Submit, at=times, chat=chats, bulk=st.booleans())
floods = st.builds(
    Flood, at=times, chat=chats, retry_after=st.floats(min_value=0, max_value=8, allow_nan=False)
)
pause_alls = st.builds(
    PauseAll, at=times, duration=st.floats(min_value=0, max_value=5, allow_nan=False)
)
limit_sets = st.builds(
    Limits,
    rate_per_second=st.floats(min_value=0.5, max_value=100, allow_nan=False),
    private_interval=st.sampled_from([0.0, 1.05, 1.5]),
    private_burst=st.sampled_from([1, 3]),
    group_interval=st.sampled_from([0.0, 3.15, 4.0]),
    flood_window=st.sampled_from([0.0, 1.0, 5.0]),
    flood_chats=st.integers(min_value=1, max_value=4),
)


@settings(max_examples=300, deadline=None)
@given(
    limits=limit_sets,
    events=st.lists(st.one_of(submits, submits, submits, floods, pause_alls), max_size=80),
)
def test_any_schedule_respects_every_limit(limits: Limits, events: list[Event]) -> None:
    run = simulate(limits, events)
    assert_within_limits(limits, run)
    assert {grant.key for grant in run.grants} == set(run.submitted), "everyone is served"
    assert len(run.grants) == len(run.submitted), "nobody is served twice"
    assert run.polls <= 2 * (len(events) + len(run.grants)) + 1


@settings(max_examples=200, deadline=None)
@given(events=st.lists(submits, max_size=60))
def test_one_chat_one_class_is_first_in_first_out(events: list[Submit]) -> None:
    run = simulate(Limits(), events)
    order: dict[tuple[ChatKey | None, bool], list[int]] = defaultdict(list)
    for grant in run.grants:
        order[grant.chat, grant.bulk].append(grant.key)
    for keys in order.values():
        assert keys == sorted(keys, key=lambda key: (run.submitted[key].at, key))


@settings(max_examples=200, deadline=None)
@given(events=st.lists(submits, max_size=60))
def test_bulk_never_goes_while_a_ready_interactive_message_waits(events: list[Submit]) -> None:
    limits = Limits()
    run = simulate(limits, events)
    position = {grant.key: i for i, grant in enumerate(run.grants)}
    last: dict[ChatKey, float] = {}
    for i, grant in enumerate(run.grants):
        if grant.bulk:
            for key, submit in run.submitted.items():
                waiting = key <= grant.last_key_seen and position[key] > i
                if submit.bulk or not waiting:
                    continue
                chat = submit.chat
                ready = chat is None or grant.at >= last.get(chat, -math.inf) + (
                    limits.chat_interval(chat) - EPS
                )
                assert not ready, f"bulk {grant} went before ready interactive {key}"
        if grant.chat is not None:
            last[grant.chat] = grant.at


def test_overall_rate_spreads_a_burst() -> None:
    limits = Limits(rate_per_second=28)
    run = simulate(limits, [Submit(0.0, chat, True) for chat in range(1, 57)])
    assert len(run.grants) == 56
    assert run.grants[-1].at == pytest.approx(55 / 28)


def test_a_group_gets_twenty_a_minute_and_others_are_not_held_up() -> None:
    events: list[Event] = [Submit(0.0, -100, True) for _ in range(30)]
    events += [Submit(0.5, chat, True) for chat in range(1, 11)]
    run = simulate(Limits(), events)
    group = [grant.at for grant in run.grants if grant.chat == -100]
    assert group[1] - group[0] == pytest.approx(3.15)
    assert sum(1 for t in group if t < 60) == 20
    private = [grant.at for grant in run.grants if grant.chat != -100]
    assert max(private) < 1.0, "private chats wait for the overall budget only"


def test_interactive_reply_jumps_the_bulk_queue() -> None:
    events: list[Event] = [Submit(0.0, chat, True) for chat in range(1, 101)]
    events.append(Submit(0.2, 555, False))
    run = simulate(Limits(rate_per_second=28), events)
    reply = next(grant for grant in run.grants if grant.chat == 555)
    assert reply.at < 0.2 + 2 / 28
    assert not reply.bulk


def test_a_429_pauses_only_its_chat_for_exactly_retry_after() -> None:
    planner = FloodPlanner(Limits())
    assert planner.on_retry_after(7, 5.0, now=10.0) == "chat"
    assert planner.chat_ready_at(7) == 15.0
    planner.submit("a", 7, bulk=True)
    planner.submit("b", 8, bulk=True)
    assert planner.poll(10.0) == ["b"]
    assert planner.poll(14.999) == []
    assert planner.next_poll_at() == 15.0
    assert planner.poll(15.0) == ["a"]


def test_429s_from_several_chats_at_once_pause_the_whole_bot() -> None:
    planner = FloodPlanner(Limits(flood_chats=3))
    assert planner.on_retry_after(1, 3.0, now=0.0) == "chat"
    assert planner.on_retry_after(1, 3.0, now=0.1) == "chat", "the same chat again"
    assert planner.on_retry_after(2, 3.0, now=0.2) == "chat"
    assert planner.on_retry_after(3, 4.0, now=0.5) == "all"
    planner.submit("x", 4, bulk=False)
    assert planner.poll(4.4) == []
    assert planner.poll(4.5) == ["x"]


def test_429s_spread_out_stay_per_chat() -> None:
    planner = FloodPlanner(Limits(flood_window=1.0, flood_chats=2))
    planner.on_retry_after(1, 1.0, now=0.0)
    assert planner.on_retry_after(2, 1.0, now=5.0) == "chat"
    assert planner.global_ready_at() < 5.0


def test_a_429_without_a_chat_pauses_everything() -> None:
    planner = FloodPlanner(Limits())
    assert planner.on_retry_after(None, 2.0, now=1.0) == "all"
    assert planner.global_ready_at() == 3.0


def test_a_shorter_pause_never_shortens_a_longer_one() -> None:
    """The failure mode of python-telegram-bot issue #5338, in planner terms."""
    planner = FloodPlanner(Limits())
    planner.pause_all(10.0)
    planner.pause_all(3.0)
    planner.pause_chat(5, 9.0)
    planner.pause_chat(5, 2.0)
    assert planner.global_ready_at() == 10.0
    assert planner.chat_ready_at(5) == 9.0


def test_cancelled_waiter_is_forgotten() -> None:
    planner = FloodPlanner(Limits())
    planner.submit("a", 1, bulk=True)
    assert planner.cancel("a")
    assert not planner.cancel("a")
    assert planner.poll(0.0) == []
    assert planner.next_poll_at() is None


def test_duplicate_key_is_refused() -> None:
    planner = FloodPlanner(Limits())
    planner.submit("a", 1, bulk=True)
    with pytest.raises(ValueError, match="already waiting"):
        planner.submit("a", 2, bulk=True)


def test_busy_chats_are_those_not_ready_in_time() -> None:
    planner = FloodPlanner(Limits())
    for key, chat in enumerate([1, -2, 3]):
        planner.submit(key, chat, bulk=True)
    for at in (0.0, 0.04, 0.08):
        planner.poll(at)
    planner.pause_chat(9, 100.0)
    assert planner.busy_chats(before=2.0) == {-2, 9}
    assert planner.busy_chats(before=0.5) == {1, -2, 3, 9}


def test_old_state_is_pruned() -> None:
    planner = FloodPlanner(Limits(rate_per_second=1000))
    for key in range(3000):
        planner.submit(key, key + 1, bulk=True)
        assert planner.poll(key * 10.0) == [key]
    assert len(planner.busy_chats(before=-math.inf)) < 1100


@pytest.mark.parametrize(("chat", "group"), [(5, False), (-5, True), ("@news", True)])
def test_group_like_chats(chat: ChatKey, group: bool) -> None:
    assert is_group_like(chat) is group


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="positive"):
        Limits(rate_per_second=0)
    with pytest.raises(ValueError, match="negative"):
        Limits(private_interval=-1)
    with pytest.raises(ValueError, match="flood_chats"):
        Limits(flood_chats=0)


def test_backlog_counts_only_waiters_whose_chat_may_send_soon() -> None:
    planner = FloodPlanner(Limits())
    planner.pause_chat(1, 30.0)
    for key, chat in enumerate([1, 2, 3, None]):
        planner.submit(key, chat, bulk=True)
    assert planner.backlog(before=1.0) == 3
    assert planner.backlog(before=30.0) == 4


def test_groups_are_never_spaced_closer_than_private_chats() -> None:
    limits = Limits(private_interval=2.0, group_interval=1.0)
    assert limits.chat_interval(-5) == 2.0


def test_a_private_chat_takes_three_replies_at_once_then_one_an_interval() -> None:
    limits = Limits(rate_per_second=1000, private_interval=1.05, private_burst=3)
    run = simulate(limits, [Submit(0.0, 7, False) for _ in range(6)])
    assert [grant.at for grant in run.grants] == pytest.approx([0, 0, 0, 1.05, 2.1, 3.15], abs=0.01)


def test_a_reader_searching_pressing_more_and_searching_again_waits_for_nothing() -> None:
    """Each reply is asked for once the previous one has been answered, as a handler
    chain does; all three go the moment they are asked for."""
    planner = FloodPlanner(Limits(private_burst=3))
    for key, at in enumerate([0.0, 0.3, 0.6]):
        planner.submit(key, 7, bulk=False)
        assert planner.poll(at) == [key]
        planner.completed(7, at + 0.02)
    planner.submit("fourth", 7, bulk=False)
    assert planner.poll(0.9) == [], "the burst is spent"
    assert planner.next_poll_at() == pytest.approx(0.02 + 1.05), (
        "a token, counted from the first answer"
    )


def test_bulk_messages_never_burst_in_a_private_chat() -> None:
    limits = Limits(rate_per_second=1000, private_interval=1.05, private_burst=3)
    run = simulate(limits, [Submit(0.0, 7, True) for _ in range(4)])
    assert [grant.at for grant in run.grants] == pytest.approx([0, 1.05, 2.1, 3.15])


def test_a_digest_after_a_burst_of_replies_waits_for_a_token_and_a_full_interval() -> None:
    limits = Limits(rate_per_second=1000, private_interval=1.05, private_burst=3)
    events: list[Event] = [Submit(0.0, 7, False) for _ in range(3)]
    events.append(Submit(0.5, 7, True))
    run = simulate(limits, events)
    digest = run.grants[-1]
    assert digest.bulk
    assert digest.at == pytest.approx(run.grants[2].at + 1.05)


def test_groups_get_no_burst() -> None:
    run = simulate(Limits(rate_per_second=1000), [Submit(0.0, -100, False) for _ in range(3)])
    assert [grant.at for grant in run.grants] == pytest.approx([0, 3.15, 6.3])


def test_a_slow_reply_counts_from_its_answer() -> None:
    """Telegram counts arrivals: a reply answered late spends its token late."""
    planner = FloodPlanner(Limits(private_burst=1, private_interval=1.0))
    planner.submit("a", 7, bulk=False)
    assert planner.poll(0.0) == ["a"]
    planner.completed(7, 0.8)
    assert planner.chat_ready_at(7, bulk=False) == pytest.approx(1.8)


def test_burst_is_validated() -> None:
    with pytest.raises(ValueError, match="private_burst"):
        Limits(private_burst=0)


def arrivals(
    limits: Limits, count: int, latencies: Sequence[float], spots: Sequence[float]
) -> list[float]:
    """Send `count` bulk messages to as many chats through a planner, each answered
    `latencies[i]` after its grant and reaching Telegram `spots[i]` of the way there:
    when Telegram saw them, sorted. Answers are reported as the rate limiter does."""
    planner = FloodPlanner(limits)
    for key in range(count):
        planner.submit(key, key + 1, bulk=True)
    answers: list[tuple[float, int]] = []
    seen: list[float] = []
    now = 0.0
    while len(planner) or answers:
        wake = planner.next_poll_at()
        if answers and (wake is None or answers[0][0] <= wake):
            now, answered = heapq.heappop(answers)
            planner.completed(answered + 1, now, key=answered)
            continue
        assert wake is not None
        now = max(now, wake)
        for granted in planner.poll(now):
            assert isinstance(granted, int)
            latency = latencies[granted % len(latencies)]
            seen.append(now + spots[granted % len(spots)] * latency)
            heapq.heappush(answers, (now + latency, granted))
    return sorted(seen)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([30.0, 28.0, 29.5, 5.0, 100.0]),
    latencies=st.lists(st.floats(min_value=0, max_value=1.0), min_size=1, max_size=40),
    spots=st.lists(st.floats(min_value=0, max_value=1.0), min_size=1, max_size=40),
)
def test_no_second_at_telegram_holds_more_than_the_rate(
    rate: float, latencies: list[float], spots: list[float]
) -> None:
    """However long requests take and wherever on the way Telegram counts them (an
    answer within `unanswered_hold`), no window of one second holds more than the
    rate rounded up: spacing alone lets a delayed request and a prompt follower
    arrive together."""
    limits = Limits(rate_per_second=rate)
    seen = arrivals(limits, 3 * limits.per_second + 7, latencies, spots)
    n = limits.per_second
    assert all(b - a >= 1.0 - EPS for a, b in zip(seen, seen[n:], strict=False)), seen


def test_a_late_answer_holds_the_window_and_an_early_one_frees_it() -> None:
    planner = FloodPlanner(Limits(rate_per_second=30))
    for key in range(32):
        planner.submit(key, key + 1, bulk=True)
    for k in range(30):
        assert planner.poll(k / 30) == [k]
    for k in range(1, 30):
        planner.completed(k + 1, k / 30 + 0.01, key=k)
    assert planner.next_poll_at() == pytest.approx(1.0 + 1.0), "the first is unanswered"
    assert planner.completed(1, 0.25, key=0), "the limiter's timer must be set again"
    assert planner.next_poll_at() == pytest.approx(1.25)
    assert planner.poll(1.2) == []
    assert planner.poll(1.25) == [30]
    assert planner.next_poll_at() == pytest.approx(1.25 + 1 / 30), "and spaced as ever"


def test_an_unanswered_message_holds_the_window_only_so_long() -> None:
    planner = FloodPlanner(Limits(rate_per_second=2, unanswered_hold=0.5))
    for key in range(3):
        planner.submit(key, key + 1, bulk=True)
    assert planner.poll(0.0) == [0]
    assert planner.poll(0.5) == [1]
    assert planner.next_poll_at() == pytest.approx(1.5)
    assert not planner.completed(1, 2.0, key=0), "later than the hold: changes nothing"


paid_limit_sets = st.builds(
    Limits,
    rate_per_second=st.floats(min_value=0.5, max_value=50, allow_nan=False),
    paid_rate_per_second=st.floats(min_value=1, max_value=1000, allow_nan=False),
    private_interval=st.sampled_from([0.0, 1.05]),
    private_burst=st.sampled_from([1, 3]),
    group_interval=st.sampled_from([0.0, 3.15]),
    flood_window=st.sampled_from([0.0, 1.0]),
    flood_chats=st.integers(min_value=1, max_value=3),
)
paid_or_free_submits = st.builds(
    Submit, at=times, chat=chats, bulk=st.booleans(), paid=st.booleans()
)
paid_or_free_floods = st.builds(
    Flood,
    at=times,
    chat=chats,
    retry_after=st.floats(min_value=0, max_value=8, allow_nan=False),
    paid=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(
    limits=paid_limit_sets,
    events=st.lists(
        st.one_of(
            paid_or_free_submits,
            paid_or_free_submits,
            paid_or_free_submits,
            paid_or_free_floods,
            pause_alls,
        ),
        max_size=80,
    ),
)
def test_paid_broadcasts_keep_every_limit_on_a_budget_of_their_own(
    limits: Limits, events: list[Event]
) -> None:
    """Each budget keeps its spacing and its most-per-second on its own, a chat's
    limits count paid and free messages alike, and a bot-wide 429 pauses the budget
    it was met on."""
    assert_within_limits(limits, simulate(limits, events))


def drain(planner: FloodPlanner, start: float = 0.0) -> dict[object, float]:
    """Poll at every wake-up until nobody waits; when each key was granted."""
    granted: dict[object, float] = {}
    now = start
    while True:
        for key in planner.poll(now):
            granted[key] = now
            planner.completed(None, now, key=key)
        wake = planner.next_poll_at()
        if wake is None:
            return granted
        now = wake


def test_paid_messages_neither_use_nor_wait_for_the_free_budget() -> None:
    planner = FloodPlanner(Limits(rate_per_second=2, paid_rate_per_second=100))
    for key in range(50):
        planner.submit(key, 1000 + key, bulk=True, paid=True)
    for name in ("digest-1", "digest-2", "digest-3"):
        planner.submit(name, name, bulk=True)
    granted = drain(planner)
    paid = sorted(granted[key] for key in range(50))
    assert paid[-1] == pytest.approx(49 / 100), "spaced by the paid rate, free ones aside"
    free = [granted[key] for key in ("digest-1", "digest-2", "digest-3")]
    assert free == pytest.approx([0.0, 0.5, 1.0]), "the free budget: 2 a second, all its own"


def test_a_chat_is_paced_alike_for_paid_and_free_messages() -> None:
    limits = Limits(rate_per_second=30, paid_rate_per_second=1000)
    planner = FloodPlanner(limits)
    planner.submit("paid", 5, bulk=True, paid=True)
    planner.submit("free", 5, bulk=True)
    planner.submit("paid again", 5, bulk=True, paid=True)
    granted = drain(planner)
    interval = limits.chat_interval(5)
    assert [granted[key] for key in ("paid", "free", "paid again")] == pytest.approx(
        [0.0, interval, 2 * interval]
    )


def test_a_flood_on_the_paid_budget_pauses_it_and_nothing_else() -> None:
    planner = FloodPlanner(Limits(paid_rate_per_second=100, flood_chats=1))
    assert planner.on_retry_after(7, 5.0, 0.0, paid=True) == "all"
    planner.submit("paid", 8, bulk=True, paid=True)
    planner.submit("free", 9, bulk=True)
    assert planner.poll(0.0) == ["free"]
    assert planner.next_poll_at() == pytest.approx(5.0)
    assert planner.poll(5.0) == ["paid"]
    assert planner.on_retry_after(7, 3.0, 6.0) == "all"
    planner.submit("free again", 10, bulk=True)
    planner.submit("paid again", 11, bulk=True, paid=True)
    assert planner.poll(6.0) == ["paid again"], "a free flood leaves paid broadcasts going"


def test_backlog_is_per_budget() -> None:
    planner = FloodPlanner(Limits(paid_rate_per_second=1000))
    for key in range(5):
        planner.submit(key, key + 1, bulk=True, paid=True)
    planner.submit("free", 99, bulk=True)
    assert planner.backlog(0.0, paid=True) == 5
    assert planner.backlog(0.0) == 1
    planner.cancel(0)
    assert planner.backlog(0.0, paid=True) == 4


def test_paid_budget_only_when_the_limits_have_one() -> None:
    with pytest.raises(ValueError, match="paid_rate_per_second"):
        Limits(paid_rate_per_second=-1)
    with pytest.raises(ValueError, match="no paid budget"):
        FloodPlanner(Limits()).submit(1, 1, bulk=True, paid=True)


def test_a_grant_made_late_does_not_push_the_later_ones_back() -> None:
    """The event loop wakes the limiter a little after the time it asked for; counted
    from each late wake-up, every message would lose that much for good."""
    planner = FloodPlanner(Limits(rate_per_second=10))
    for key in range(4):
        planner.submit(key, key + 1, bulk=True)
    assert planner.poll(0.0) == [0]
    assert planner.next_poll_at() == pytest.approx(0.1)
    assert planner.poll(0.101) == [1], "a millisecond late"
    assert planner.next_poll_at() == pytest.approx(0.2), "still on the grid"
    assert planner.poll(0.2) == [2]
    assert planner.poll(5.0) == [3], "after a long wait, nothing to make up"
    planner.submit(4, 5, bulk=True)
    assert planner.next_poll_at() == pytest.approx(5.1)


def test_a_late_wake_up_at_the_paid_rate_grants_what_the_schedule_allowed() -> None:
    """At 1,000 a second a gap is the event loop's timer resolution: a wake-up a few
    milliseconds late grants the messages due meanwhile, or the rate would be lost."""
    planner = FloodPlanner(Limits(paid_rate_per_second=1000))
    for key in range(10):
        planner.submit(key, key + 1, bulk=True, paid=True)
    assert planner.poll(0.0) == [0]
    assert planner.poll(0.0035) == [1, 2, 3], "due at 1, 2 and 3 ms"
    assert planner.next_poll_at() == pytest.approx(0.004)
    assert planner.poll(0.5) == [4], "after an idle spell, no burst"
    assert planner.next_poll_at() == pytest.approx(0.501)
