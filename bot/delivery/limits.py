"""Telegram's flood limits as pure scheduling logic: no I/O, time is passed in.

Telegram answers 429 when a bot sends more than ~30 messages a second overall,
more than about one a second to one chat, or more than 20 a minute to a group
or channel. Staying a little under each limit is cheaper than recovering from
429s, so every message waits here for a *grant*:

* overall, grants are spaced ``1 / rate_per_second`` apart on average (one
  shared budget; a grant a little late does not delay the ones after it),
  and no more than ``rate_per_second`` (rounded up) go in any second *as
  Telegram sees them*: Telegram counts arrivals, which the bot does not see,
  only that a request arrives after its grant and before its answer. So a
  message may go only a second after the answer to the one that many grants
  before it (or `unanswered_hold` after its grant, if it is not answered by
  then): then no window of one second at the server can hold more, whatever the
  latency and however unevenly the requests travel. That is what lets the
  budget be Telegram's 30 itself: spacing alone at 30/s meets a 429 as soon as
  one request is delayed on its way and the next is not;
* a paid broadcast's messages (sent with ``allow_paid_broadcast``, 0.1 Star
  each, up to 1,000 a second) have a budget of their own, paced the same way
  at ``paid_rate_per_second``: they neither use the free budget nor wait for
  it, and a bot-wide 429 pauses only the budget it was met on;
* per chat, a token bucket: a private chat may take ``private_burst`` replies
  at once, then one every ``private_interval`` (Telegram asks for about one a
  second per chat and allows short bursts, so a reader who searches, presses
  More and searches again within a second waits for nothing); groups,
  supergroups and channels (negative ids or ``@username``) get one every
  ``group_interval``, no burst (their 20 a minute). A chat never blocks the
  others while it waits;
* bulk messages (digests, broadcasts) take no burst: each waits
  ``chat_interval`` after the chat's previous message, so a digest run sends
  at most one message a second to a chat however full its bucket is (paid or
  free: Telegram's per-chat limits are the same for both);
* a pause (after a 429) is a deadline that only ever moves later, so nothing
  but the clock can end it early.

Waiters are served by (interactive before bulk, then arrival order), skipping
those whose chat is not ready yet: fair across chats, FIFO within one.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

ChatKey = int | str
"""A chat as the Bot API names it: an integer id or a channel's ``@username``."""


@dataclass(frozen=True)
class Limits:
    rate_per_second: float = 30.0
    private_interval: float = 1.05
    """A private chat's bucket refills one message per this many seconds: a little
    over Telegram's one a second, so a late arrival never meets a 429."""
    private_burst: int = 3
    """Replies a private chat may take at once (Telegram's "short bursts")."""
    group_interval: float = 3.15
    flood_window: float = 1.0
    flood_chats: int = 3
    """429s for this many chats within `flood_window` seconds pause the whole bot: a
    bot-wide flood answers every chat at once, while one chat's 429 is about that chat."""
    unanswered_hold: float = 1.0
    """A message not answered this long after its grant counts as arrived by then, so
    one hung request holds the bot-wide window back at most this long."""
    paid_rate_per_second: float = 0.0
    """The paid broadcasts' budget (Telegram allows up to 1,000/s); 0: there is none."""

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if self.paid_rate_per_second < 0:
            raise ValueError("paid_rate_per_second must not be negative")
        if (
            self.private_interval < 0
            or self.group_interval < 0
            or self.flood_window < 0
            or self.unanswered_hold < 0
        ):
            raise ValueError("intervals must not be negative")
        if self.flood_chats < 1:
            raise ValueError("flood_chats must be at least 1")
        if self.private_burst < 1:
            raise ValueError("private_burst must be at least 1")

    @property
    def global_interval(self) -> float:
        return 1.0 / self.rate_per_second

    @property
    def per_second(self) -> int:
        """Most messages in any one second: the rate, rounded up (spacing alone lets
        that many in when the rate is not whole)."""
        return _per_second(self.rate_per_second)

    def chat_interval(self, chat: ChatKey) -> float:
        """Seconds per message a chat's bucket refills (and bulk messages' spacing)."""
        if is_group_like(chat):
            return max(self.group_interval, self.private_interval)
        return self.private_interval

    def chat_burst(self, chat: ChatKey) -> int:
        """Interactive replies a chat may take at once when its bucket is full."""
        return 1 if is_group_like(chat) else self.private_burst


def _per_second(rate: float) -> int:
    return max(1, math.ceil(rate - 1e-9))


def is_group_like(chat: ChatKey) -> bool:
    """Groups, supergroups and channels have negative ids; ``@name`` is a channel."""
    return isinstance(chat, str) or chat < 0


@dataclass(order=True)
class _Waiter:
    rank: tuple[int, int]
    key: Hashable = field(compare=False)
    chat: ChatKey | None = field(compare=False)
    paid: bool = field(default=False, compare=False)

    @property
    def bulk(self) -> bool:
        return self.rank[0] == 1


@dataclass(slots=True)
class _Arrival:
    """A granted message and the latest it can have reached Telegram: its answer, or
    `unanswered_hold` after its grant while there is none."""

    key: Hashable
    by: float


CATCH_UP = 0.004
"""Seconds of a late wake-up a budget makes up however short its interval: a few
times the event loop's timer resolution (a millisecond)."""


class _Budget:
    """One bot-wide budget: grants spaced 1/rate apart, no more than the rate in any
    second as Telegram counts arrivals (see the module docstring), and the pause a
    bot-wide 429 sets. Every message uses the free one; paid broadcasts their own."""

    __slots__ = ("hold", "interval", "next", "pause", "per_second", "unanswered", "window")

    def __init__(self, rate: float, hold: float) -> None:
        self.interval = 1.0 / rate
        self.per_second = _per_second(rate)
        self.hold = hold
        self.next = float("-inf")
        self.pause = float("-inf")
        self.window: deque[_Arrival] = deque()
        """The last `per_second` grants, oldest first: the next may go a second after
        the oldest of them arrived."""
        self.unanswered: dict[Hashable, _Arrival] = {}

    def ready_at(self) -> float:
        ready = max(self.next, self.pause)
        window = self.window
        if len(window) >= self.per_second:
            ready = max(ready, window[0].by + 1.0)
        return ready

    def grant(self, key: Hashable, now: float) -> None:
        # A grant made a little late (the event loop's timer fires up to a
        # millisecond after its time) keeps the next one on schedule: counted from
        # `now`, every late wake-up would be lost for good, about 2% of the rate.
        # Only lateness under half an interval is made up, so nothing bursts after
        # an idle spell; the window above still bounds every second. At the paid
        # budget's 1,000 a second an interval is itself a millisecond, so up to
        # `CATCH_UP` is made up (a few grants at once after a late wake-up).
        late = now - self.next
        keep = 0.0 <= late < max(self.interval / 2, CATCH_UP)
        self.next = (self.next if keep else now) + self.interval
        arrival = _Arrival(key, now + self.hold)
        self.window.append(arrival)
        self.unanswered[key] = arrival
        while len(self.window) > self.per_second:
            self.unanswered.pop(self.window.popleft().key, None)

    def answered(self, key: Hashable, now: float) -> bool | None:
        """The grant `key` got its answer at `now`. None: not one of this budget's;
        True: the budget may grant sooner than planned."""
        arrival = self.unanswered.pop(key, None)
        if arrival is None:
            return None
        if now >= arrival.by:
            return False
        arrival.by = now
        return arrival is self.window[0] and len(self.window) >= self.per_second


class FloodPlanner:
    """Decides when each waiting message may go. Drive it with `poll(now)`.

    Typical loop: `submit()` waiters, call `poll(now)` to get the keys granted
    at `now`, sleep until `next_poll_at()`, repeat. Every grant happens at the
    `now` of the `poll()` that returned it, so the limits hold for the times
    the caller passes in. Report each granted message's answer with
    `completed(..., key=...)`: until then it may still be on its way, and holds
    the bot-wide window for up to `unanswered_hold`.
    """

    _PRUNE_EVERY = 1024

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._waiting: list[_Waiter] = []
        self._keys: dict[Hashable, _Waiter] = {}
        self._last_grant: dict[ChatKey, float] = {}
        self._full_at: dict[ChatKey, float] = {}
        """Per chat, when its bucket would be full again if nothing more went: the
        "theoretical arrival time" of the generic cell rate algorithm, one float a
        chat for a token bucket."""
        self._chat_pause: dict[ChatKey, float] = {}
        limits = self.limits
        self._free = _Budget(limits.rate_per_second, limits.unanswered_hold)
        self._paid = (
            _Budget(limits.paid_rate_per_second, limits.unanswered_hold)
            if limits.paid_rate_per_second > 0
            else None
        )
        self._paid_waiting = 0
        self._recent_floods: deque[tuple[ChatKey | None, float]] = deque()
        self._seq = 0
        self._grants = 0

    # -- waiting ---------------------------------------------------------------

    def next_seq(self) -> int:
        """An arrival number; resubmitting with the same one keeps a retry's place."""
        self._seq += 1
        return self._seq

    def submit(
        self,
        key: Hashable,
        chat: ChatKey | None,
        *,
        bulk: bool,
        seq: int | None = None,
        paid: bool = False,
    ) -> None:
        """Queue a message for `chat` (None: only the overall budget applies); `paid`:
        on the paid broadcasts' budget, which `paid_rate_per_second` must provide."""
        if key in self._keys:
            raise ValueError(f"already waiting: {key!r}")
        if paid and self._paid is None:
            raise ValueError("no paid budget: paid_rate_per_second is 0")
        waiter = _Waiter((int(bulk), self.next_seq() if seq is None else seq), key, chat, paid)
        insort(self._waiting, waiter)
        self._keys[key] = waiter
        self._paid_waiting += paid

    def cancel(self, key: Hashable) -> bool:
        """Forget a waiter that no longer wants to send. True if it was waiting."""
        waiter = self._keys.pop(key, None)
        if waiter is None:
            return False
        self._waiting.remove(waiter)
        self._paid_waiting -= waiter.paid
        return True

    def __len__(self) -> int:
        return len(self._waiting)

    # -- granting --------------------------------------------------------------

    def chat_ready_at(self, chat: ChatKey | None, *, bulk: bool = True) -> float:
        """Earliest time the chat's own limits (bucket, spacing, pause) allow a message.

        An interactive reply needs a token; a bulk message (the default: what the
        outbox sender asks about) also waits a whole interval after the chat's
        last message, so bulk never bursts."""
        if chat is None:
            return float("-inf")
        limits = self.limits
        interval = limits.chat_interval(chat)
        full_at = self._full_at.get(chat)
        ready = (
            float("-inf") if full_at is None else full_at - (limits.chat_burst(chat) - 1) * interval
        )
        if bulk:
            last = self._last_grant.get(chat)
            if last is not None:
                ready = max(ready, last + interval)
        return max(ready, self._chat_pause.get(chat, float("-inf")))

    def _budget(self, paid: bool) -> _Budget:
        if paid:
            if self._paid is None:
                raise ValueError("no paid budget: paid_rate_per_second is 0")
            return self._paid
        return self._free

    def global_ready_at(self, *, paid: bool = False) -> float:
        """Earliest time the bot-wide budget (the free one, or the paid one) grants."""
        return self._budget(paid).ready_at()

    def poll(self, now: float) -> list[Hashable]:
        """Grant what may go at `now`, best first; the caller sends them at once."""
        granted: list[Hashable] = []
        waiting = self._waiting
        paid = self._paid
        while waiting:
            free_open = self._free.ready_at() <= now
            paid_open = paid is not None and self._paid_waiting > 0 and paid.ready_at() <= now
            if not (free_open or paid_open):
                break
            index = next(
                (
                    i
                    for i, w in enumerate(waiting)
                    if (paid_open if w.paid else free_open)
                    and self.chat_ready_at(w.chat, bulk=w.bulk) <= now
                ),
                None,
            )
            if index is None:
                break
            waiter = waiting.pop(index)
            del self._keys[waiter.key]
            self._paid_waiting -= waiter.paid
            self._record(waiter.chat, now)
            self._budget(waiter.paid).grant(waiter.key, now)
            granted.append(waiter.key)
        return granted

    def next_poll_at(self) -> float | None:
        """When `poll` may grant something next (None: nobody waits).

        After a `poll(now)`, this is always later than `now`, so a driver that
        sleeps until it never spins.
        """
        if not self._waiting:
            return None
        earliest = float("inf")
        for paid in (False, True) if self._paid_waiting else (False,):
            if not paid and len(self._waiting) == self._paid_waiting:
                continue  # no free waiters
            overall = self._budget(paid).ready_at()
            earliest_chat = float("inf")
            for waiter in self._waiting:
                if waiter.paid != paid:
                    continue
                ready = self.chat_ready_at(waiter.chat, bulk=waiter.bulk)
                if ready <= overall:  # nothing can go before the overall budget allows
                    earliest_chat = ready
                    break
                earliest_chat = min(earliest_chat, ready)
            earliest = min(earliest, max(overall, earliest_chat))
        return earliest

    def completed(self, chat: ChatKey | None, now: float, *, key: Hashable = None) -> bool:
        """A message to `chat` (granted as `key`) got its answer at `now`: space the
        next one from here.

        Telegram measures the gap between arrivals. Counting from the grant alone
        lets a slow request and a quick follower arrive closer than the limit.
        Returns True when this lets the bot-wide budget grant sooner than planned
        (the caller's timer should be set again)."""
        if chat is not None:
            self.note_sent(chat, now)
        if key is None:
            return False
        sooner = self._free.answered(key, now)
        if sooner is None and self._paid is not None:
            sooner = self._paid.answered(key, now)
        return bool(sooner)

    def note_sent(self, chat: ChatKey, at: float) -> None:
        """A message went to `chat` at `at` outside this planner (an earlier process)."""
        self._last_grant[chat] = max(self._last_grant.get(chat, float("-inf")), at)
        full_at = at + self.limits.chat_interval(chat)
        self._full_at[chat] = max(self._full_at.get(chat, float("-inf")), full_at)

    def _record(self, chat: ChatKey | None, now: float) -> None:
        if chat is not None:
            self._last_grant[chat] = now
            start = max(self._full_at.get(chat, float("-inf")), now)
            self._full_at[chat] = start + self.limits.chat_interval(chat)
        self._grants += 1
        if self._grants % self._PRUNE_EVERY == 0:
            self._prune(now)

    def _prune(self, now: float) -> None:
        """Drop per-chat state that no longer constrains anything."""
        interval = max(self.limits.private_interval, self.limits.group_interval)
        self._last_grant = {c: t for c, t in self._last_grant.items() if t + interval > now}
        self._full_at = {c: t for c, t in self._full_at.items() if t > now}
        self._chat_pause = {c: t for c, t in self._chat_pause.items() if t > now}

    # -- pauses ----------------------------------------------------------------

    def pause_chat(self, chat: ChatKey, until: float) -> None:
        self._chat_pause[chat] = max(self._chat_pause.get(chat, float("-inf")), until)

    def pause_all(self, until: float, *, paid: bool = False) -> None:
        """Pause the bot-wide budget (the free one, or the paid one) until `until`."""
        budget = self._budget(paid)
        budget.pause = max(budget.pause, until)

    def on_retry_after(
        self, chat: ChatKey | None, retry_after: float, now: float, *, paid: bool = False
    ) -> str:
        """Telegram said "retry after N s" for `chat`: pause exactly that long.

        A chat flooded pauses that chat; `flood_chats` chats flooded within
        `flood_window` (or a request without a chat) mean the bot-wide budget
        is exhausted, so everything on it pauses: the free budget, or for a `paid`
        message the paid one. Returns the scope: "chat" or "all".
        """
        until = now + max(0.0, retry_after)
        window_start = now - self.limits.flood_window
        while self._recent_floods and self._recent_floods[0][1] < window_start:
            self._recent_floods.popleft()
        self._recent_floods.append((chat, now))
        flooded = {c for c, _ in self._recent_floods}
        if chat is not None:
            self.pause_chat(chat, until)
        if chat is None or len(flooded) >= self.limits.flood_chats:
            self.pause_all(until, paid=paid)
            return "all"
        return "chat"

    # -- queries for the outbox sender -----------------------------------------

    def backlog(self, before: float, *, paid: bool = False) -> int:
        """Waiters on one budget whose chat may send by `before`: the queue ahead of a
        new message on that budget."""
        if paid and not self._paid_waiting:
            return 0
        return sum(
            1
            for w in self._waiting
            if w.paid == paid and self.chat_ready_at(w.chat, bulk=w.bulk) <= before
        )

    def busy_chats(self, before: float) -> set[ChatKey]:
        """Chats that may not send until after `before`: worth not claiming now."""
        busy = {c for c in self._full_at if self.chat_ready_at(c) > before}
        busy.update(c for c, t in self._chat_pause.items() if t > before)
        return busy
