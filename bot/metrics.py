"""The bot's Prometheus metrics, gathered in one registry that the ops server exposes at /metrics.

Every metric is defined here, once, and incremented where the thing happens: the
rate limiter (every request of the bot passes it), admission (every update), the
digest dispatch, the feed poller, search, the store's writer. They live in one
process-wide registry of their own (not prometheus_client's default one), so what
/metrics shows is the bot's and nothing a library registered by importing.

Conventions (Prometheus'): a `digestbot_` prefix, counters end in `_total`, times
in seconds and sizes in bytes, and every label takes a value from a small fixed
set: never a chat id, a user id, a feed address or a query, which would make a
series per chat and let anyone grow the registry by writing to the bot.

This module sits on the store's floor and imports nothing of the bot, so the
store itself can time its writer's lock.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

# -- messages and requests ------------------------------------------------------

SEND_KINDS: Final = ("reply", "digest", "broadcast", "channel", "notice")
"""What a message was: an interactive reply, or the outbox kind it was queued as
(the outbox's "post" is a channel post)."""
SEND_OUTCOMES: Final = (
    "ok",
    "429",
    "403",
    "5xx",
    "timeout",
    "migrated",
    "bad_request",
    "network",
    "other",
)
"""How Telegram answered a send: "network" is a request that never reached it (a
refused or dropped connection), "bad_request" any other 400, "other" a 401, 404 or
409."""

MESSAGES_SENT: Final = Counter(
    "digestbot_messages_sent",
    "Message-sending Bot API requests, each attempt once, by what the message was and"
    " how Telegram answered.",
    ("kind", "outcome"),
    registry=REGISTRY,
)
RATE_LIMIT_WAIT: Final = Histogram(
    "digestbot_rate_limiter_wait_seconds",
    "How long a message-sending request waited in the rate limiter for its grant.",
    ("budget",),  # interactive, bulk, paid
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
_SENT_SERIES: dict[tuple[str, str], Counter] = {}
_WAIT_SERIES: dict[str, Histogram] = {}


def message_sent(kind: str, outcome: str) -> None:
    """Count one send in `MESSAGES_SENT`. Each series is looked up once and kept: the
    client's `labels()` takes a lock and builds a key on every call, a cost paid per
    message at the sender's ceiling."""
    series = _SENT_SERIES.get((kind, outcome))
    if series is None:
        series = _SENT_SERIES[kind, outcome] = MESSAGES_SENT.labels(kind, outcome)
    series.inc()


def rate_limit_waited(budget: str, seconds: float) -> None:
    """Record one grant's wait in `RATE_LIMIT_WAIT` (its series kept as `message_sent`'s)."""
    series = _WAIT_SERIES.get(budget)
    if series is None:
        series = _WAIT_SERIES[budget] = RATE_LIMIT_WAIT.labels(budget)
    series.observe(seconds)


RETRY_AFTER: Final = Histogram(
    "digestbot_telegram_retry_after_seconds",
    "The retry_after of each 429 Telegram answered (any method).",
    buckets=(1, 2, 5, 10, 30, 60, 300, 3600),
    registry=REGISTRY,
)

# -- updates --------------------------------------------------------------------

UPDATE_TYPES: Final = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "inline_query",
    "chosen_inline_result",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "message_reaction",
)
"""The update types named as such; any other is "other"."""
UPDATE_OUTCOMES: Final = ("ok", "error", "dropped")

UPDATES_RECEIVED: Final = Counter(
    "digestbot_updates_received",
    "Updates that reached the bot, by type.",
    ("type",),
    registry=REGISTRY,
)
UPDATES_HANDLED: Final = Counter(
    "digestbot_updates_handled",
    "Updates whose handling ended, by type and outcome (dropped: refused by the per-chat"
    " admission; error: an exception escaped the handlers).",
    ("type", "outcome"),
    registry=REGISTRY,
)
REPLY_LATENCY: Final = Histogram(
    "digestbot_reply_latency_seconds",
    "From an update's arrival to Telegram accepting the first reply to it.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)

# -- the outbox -------------------------------------------------------------------

OUTBOX_DEPTH: Final = Gauge(
    "digestbot_outbox_depth",
    "Outbox rows not finished (waiting or in flight), by kind.",
    ("kind",),
    registry=REGISTRY,
)
OUTBOX_OLDEST_AGE: Final = Gauge(
    "digestbot_outbox_oldest_pending_age_seconds",
    "Age of the oldest outbox row that is due and still waiting, by kind (0: none).",
    ("kind",),
    registry=REGISTRY,
)
OUTBOX_KINDS: Final = ("digest", "broadcast", "channel", "notice")

# -- digests, feeds, articles, search ---------------------------------------------

DIGESTS_COMPOSED: Final = Counter(
    "digestbot_digests_composed",
    "Digests built and queued, by run (scheduled: the due run; instant: new articles).",
    ("run",),
    registry=REGISTRY,
)
DIGEST_RUN_DURATION: Final = Histogram(
    "digestbot_digest_run_duration_seconds",
    "How long one digest run took, from reading the due targets to the last rows queued.",
    ("run",),
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
FEED_POLLS: Final = Counter(
    "digestbot_feed_polls",
    "Feed fetches, by outcome (ok, not_modified, error).",
    ("outcome",),
    registry=REGISTRY,
)
FEEDS_FAILING: Final = Gauge(
    "digestbot_feeds_failing",
    "Feeds whose last poll failed.",
    registry=REGISTRY,
)
ARTICLES_INGESTED: Final = Counter(
    "digestbot_articles_ingested",
    "New articles stored (feeds, listings, /ingest).",
    registry=REGISTRY,
)
SEARCH_DURATION: Final = Histogram(
    "digestbot_search_duration_seconds",
    "How long a search took to answer.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1),
    registry=REGISTRY,
)

# -- the database -------------------------------------------------------------------

DATABASE_SIZE: Final = Gauge(
    "digestbot_database_size_bytes",
    "The database's files on disk (the main file and its write-ahead log).",
    registry=REGISTRY,
)
WRITER_LOCK_WAIT: Final = Histogram(
    "digestbot_db_writer_lock_wait_seconds",
    "How long a write waited for the one writer connection.",
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)


# -- reply latency: which update a reply answers --------------------------------------


@dataclass(slots=True)
class UpdateClock:
    """When the update being handled arrived, and whether its first reply was timed."""

    arrived: float
    replied: bool = False


CURRENT_UPDATE: Final[contextvars.ContextVar[UpdateClock | None]] = contextvars.ContextVar(
    "digestbot_current_update", default=None
)
"""Set by admission while an update is handled: the task that handles it, and any it
starts, see it, so the rate limiter can time the first reply without the handlers
passing anything along."""


def update_arrived(now: float | None = None) -> contextvars.Token[UpdateClock | None]:
    """Start the reply clock for the update the current task handles (monotonic time)."""
    return CURRENT_UPDATE.set(UpdateClock(time.monotonic() if now is None else now))


def reply_sent(now: float | None = None) -> None:
    """Telegram accepted a reply: the first one to an update is its latency."""
    clock = CURRENT_UPDATE.get()
    if clock is None or clock.replied:
        return
    clock.replied = True
    REPLY_LATENCY.observe((time.monotonic() if now is None else now) - clock.arrived)


def outbox_kind(kind: str) -> str:
    """The outbox's kind as a metric's label ("post" is a channel post)."""
    return "channel" if kind == "post" else kind
