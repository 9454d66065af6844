"""/stats as numbers and words: a snapshot of the bot and its text.

The snapshot is plain data (filled from the store by `bot.admin.collect`), so
the text can be tested without a database and the numbers reused by the chart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.admin.progress import number
from bot.formatting import escape
from bot.i18n import t
from bot.languages import LANGUAGES
from bot.store.admin import DeliveryCount

CHAT_KINDS = ("private", "group", "channel")
CHART_DAYS = 30


def chat_kind(chat_type: str) -> str:
    """Supergroups count as groups: the difference is Telegram's, not the admin's."""
    return "group" if chat_type == "supergroup" else chat_type


@dataclass(frozen=True)
class Deliveries:
    """How bulk messages ended in one time window."""

    digests: int = 0
    broadcasts: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0  # the chat blocked the bot, left or is gone

    @classmethod
    def from_counts(cls, counts: Iterable[DeliveryCount]) -> Deliveries:
        by_state: dict[str, int] = {}
        sent_by_kind: dict[str, int] = {}
        for count in counts:
            by_state[count.state] = by_state.get(count.state, 0) + count.count
            if count.state == "sent":
                sent_by_kind[count.kind] = sent_by_kind.get(count.kind, 0) + count.count
        return cls(
            digests=sent_by_kind.get("digest", 0),
            broadcasts=sent_by_kind.get("broadcast", 0),
            sent=by_state.get("sent", 0),
            failed=by_state.get("failed", 0),
            blocked=by_state.get("dropped", 0),
        )

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.blocked

    def rate(self, part: int) -> float:
        return part / self.attempted if self.attempted else 0.0


@dataclass(frozen=True)
class Snapshot:
    active: Mapping[str, int]  # chat kind → chats
    inactive: Mapping[str, int]
    topics: Mapping[str, int]  # slug → subscribed targets
    languages: Mapping[str, int]  # interface language → targets
    day: Deliveries
    week: Deliveries
    outbox_depth: int
    feeds: int
    feeds_failing: int
    articles_per_day: Sequence[int] = field(default_factory=list)  # oldest first


@dataclass(frozen=True)
class Series:
    """Per-day values for the chart, oldest day first."""

    days: list[date]
    subscribers: list[int]
    deliveries: list[int]


def last_days(today: date, count: int = CHART_DAYS) -> list[date]:
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def daily(days: Sequence[date], counts: Mapping[str, int]) -> list[int]:
    """Values keyed by 'YYYY-MM-DD' laid out on `days`, zero where missing."""
    return [counts.get(day.isoformat(), 0) for day in days]


def cumulative(start: int, increments: Iterable[int]) -> list[int]:
    total, values = start, []
    for increment in increments:
        total += increment
        values.append(total)
    return values


def _counts(values: Mapping[str, int], names: Mapping[str, str], language: str) -> str:
    parts = [
        f"{escape(names.get(key, key))} {number(value, language)}"
        for key, value in sorted(values.items(), key=lambda item: (-item[1], item[0]))
        if value
    ]
    return " · ".join(parts) or t(language, "admin.stats_none")


def _kinds(values: Mapping[str, int], language: str) -> str:
    names = {kind: t(language, f"admin.chat_kind_{kind}") for kind in CHAT_KINDS}
    total = sum(values.values())
    detail = " · ".join(
        f"{names[kind]} {number(values.get(kind, 0), language)}" for kind in CHAT_KINDS
    )
    return f"{number(total, language)} ({detail})"


def _window(label: str, window: Deliveries, language: str) -> str:
    from babel.numbers import format_percent  # on first use: an idle bot needs no babel

    return t(
        language,
        "admin.stats_window",
        window=label,
        digests=t(language, "admin.digests", count=window.digests),
        broadcasts=t(language, "admin.broadcast_messages", count=window.broadcasts),
        failed=format_percent(window.rate(window.failed), "#,##0.0%", locale=language),
        blocked=format_percent(window.rate(window.blocked), "#,##0.0%", locale=language),
    )


def stats_text(snapshot: Snapshot, language: str, topic_names: Mapping[str, str]) -> str:
    languages = {code: t(language, f"admin.language_{code}") for code in LANGUAGES}
    per_day = snapshot.articles_per_day
    average = sum(per_day) / len(per_day) if per_day else 0.0
    return t(
        language,
        "admin.stats",
        active=_kinds(snapshot.active, language),
        inactive=_kinds(snapshot.inactive, language),
        topics=_counts(snapshot.topics, topic_names, language),
        languages=_counts(snapshot.languages, languages, language),
        day=_window(t(language, "admin.stats_24h"), snapshot.day, language),
        week=_window(t(language, "admin.stats_7d"), snapshot.week, language),
        depth=number(snapshot.outbox_depth, language),
        feeds=number(snapshot.feeds, language),
        failing=number(snapshot.feeds_failing, language),
        articles=" · ".join(number(n, language) for n in per_day) or "0",
        average=number(round(average), language),
    )
