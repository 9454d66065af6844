"""Deliberate failures, so a test can prove the bot copes with each of them.

Per-chat faults answer every gated call for that chat (sending, editing,
deleting, chat actions). Random faults hit message-sending methods (or the
methods named in the plan) at the configured rates and are drawn from one
seeded generator: the same seed and the same order of requests give the same
faults.

A "timeout" stalls the answer for `timeout_delay` seconds (longer than the
client waits) and then refuses with 504: a timed-out request was *not*
accepted, so the message is never delivered. A client that sees the timeout
and retries therefore does not create a duplicate.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import ApiError, ErrorKind, bad_request, forbidden, migrated, too_many_requests


class ChatFault(StrEnum):
    BLOCKED = "blocked"
    KICKED = "kicked"
    DEACTIVATED = "deactivated"
    CHAT_NOT_FOUND = "chat_not_found"
    MIGRATED = "migrated"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Rates are probabilities per request in scope, 0.0-1.0."""

    seed: int = 0
    rate_429: float = 0.0
    retry_after: tuple[int, int] = (1, 2)
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    timeout_delay: float = 10.0
    rate_slow: float = 0.0
    slow_latency: float = 0.5
    methods: frozenset[str] | None = None
    """Lower-case method names the random faults hit; None means message-sending methods."""
    include_get_updates: bool = False


@dataclass(frozen=True, slots=True)
class Draw:
    """What the random faults decided for one request."""

    delay: float = 0.0
    error: ApiError | None = None


NO_FAULT = Draw()


def kicked_text(chat_type: str) -> str:
    if chat_type == "private":
        return "bot was blocked by the user"
    return f"bot was kicked from the {chat_type} chat"


@dataclass(slots=True)
class FaultInjector:
    plan: FaultPlan = field(default_factory=FaultPlan)
    chat_faults: dict[int, ChatFault] = field(default_factory=dict)
    thread_faults: set[tuple[int, int]] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._rng.seed(self.plan.seed)

    def configure(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng.seed(plan.seed)

    def clear(self) -> None:
        self.chat_faults.clear()
        self.thread_faults.clear()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def chat_error(self, chat_id: int, chat_type: str, migrated_to: int | None) -> ApiError | None:
        fault = self.chat_faults.get(chat_id)
        if fault is None:
            return None
        if fault is ChatFault.BLOCKED:
            error = forbidden("bot was blocked by the user")
        elif fault is ChatFault.KICKED:
            error = forbidden(kicked_text(chat_type))
        elif fault is ChatFault.DEACTIVATED:
            error = forbidden("user is deactivated")
        elif fault is ChatFault.CHAT_NOT_FOUND:
            error = bad_request("chat not found")
        else:
            assert migrated_to is not None
            error = migrated(migrated_to)
        self.counts[fault.value] += 1
        return error.as_fault(fault.value)

    def thread_error(self, chat_id: int, thread_id: int | None) -> ApiError | None:
        if thread_id is None or (chat_id, thread_id) not in self.thread_faults:
            return None
        self.counts["thread_not_found"] += 1
        return bad_request("message thread not found").as_fault("thread_not_found")

    def in_scope(self, method: str, sends: bool) -> bool:
        plan = self.plan
        if method == "getupdates":
            return plan.include_get_updates
        if plan.methods is not None:
            return method in plan.methods
        return sends

    def draw(self) -> Draw:
        plan = self.plan
        if not (plan.rate_429 or plan.rate_5xx or plan.rate_timeout or plan.rate_slow):
            return NO_FAULT
        rng = self._rng
        delay = 0.0
        if plan.rate_slow and rng.random() < plan.rate_slow:
            self.counts["slow"] += 1
            delay = plan.slow_latency
        roll = rng.random()
        error: ApiError | None = None
        if roll < plan.rate_429:
            low, high = plan.retry_after
            error = too_many_requests(rng.randint(low, high), kind=ErrorKind.FAULT)
            error.fault = "429"
        elif roll < plan.rate_429 + plan.rate_5xx:
            status, text = rng.choice(((502, "Bad Gateway"), (500, "Internal Server Error")))
            error = ApiError(status, text, kind=ErrorKind.FAULT, fault="5xx")
        elif roll < plan.rate_429 + plan.rate_5xx + plan.rate_timeout:
            error = ApiError(504, "Gateway Timeout", kind=ErrorKind.FAULT, fault="timeout")
            delay += plan.timeout_delay
        if error is not None and error.fault is not None:
            self.counts[error.fault] += 1
        if not delay and error is None:
            return NO_FAULT
        return Draw(delay, error)
