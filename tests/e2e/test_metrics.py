"""The metrics tell what happened: a run through the emulator, scraped from the bot's
/metrics over HTTP as Prometheus would.

The registry is the process's, shared by every test that ran before, so each check
is on what moved during the run (after − before), never on absolute values.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterable

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

import bot.gauges as gauges
from bot.config import Settings
from bot.delivery.ratelimiter import consumes_budget
from bot.digest.dispatch import dispatch_instant
from bot.emulator import Emulator, FaultPlan
from bot.emulator.journal import RequestRecord
from bot.services import Services
from bot.store import outbox
from bot.store.outbox import NewMessage
from tests.e2e.test_digests import _articles, _subscribers
from tests.harness import Harness, bot_harness, free_port

Key = tuple[str, tuple[tuple[str, str], ...]]


@pytest.fixture
async def served(emulator: Emulator, settings: Settings) -> AsyncIterator[tuple[Harness, str]]:
    """The bot with its metrics server on a free loopback port, and that address."""
    address = f"127.0.0.1:{free_port()}"
    settings = settings.model_copy(update={"metrics_address": address})
    async with bot_harness(emulator, settings) as harness:
        yield harness, address


async def scrape(address: str) -> tuple[dict[Key, float], set[str]]:
    """Every sample of the bot's /metrics, fetched over HTTP and parsed as Prometheus
    would, and every label value in it."""
    async with aiohttp.ClientSession() as session, session.get(f"http://{address}/metrics") as got:
        assert got.status == 200
        text = await got.text()
    values: dict[Key, float] = {}
    labels: set[str] = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
            labels.update(sample.labels.values())
    return values, labels


def moved(before: dict[Key, float], after: dict[Key, float], name: str, **match: str) -> float:
    """How much the samples of `name` whose labels include `match` grew during the run."""
    total = 0.0
    for (sample, labels), value in after.items():
        if sample == name and set(match.items()) <= set(labels):
            total += value - before.get((sample, labels), 0.0)
    return total


def sends(requests: Iterable[RequestRecord], chats: set[int] | None = None) -> list[RequestRecord]:
    """The message-sending requests the emulator received (to `chats`, if given)."""
    return [
        r
        for r in requests
        if consumes_budget(r.method)
        and (chats is None or int(str(r.params.get("chat_id"))) in chats)
    ]


async def test_counters_follow_what_telegram_received(served: tuple[Harness, str]) -> None:
    harness, address = served
    emulator, services = harness.emulator, harness.services
    rng = random.Random(7)
    following = await _subscribers(services, emulator, 30, rng)
    blocked = sorted(following)[0]
    emulator.inject_chat_fault(blocked, "blocked")
    readers = [emulator.add_user("Asker").id for _ in range(5)]
    emulator.fault_plan = FaultPlan(seed=2, rate_429=0.2, retry_after=(1, 1), rate_5xx=0.1)
    emulator.reset_counters()
    before, _ = await scrape(address)

    for chat_id in readers:
        await harness.say(chat_id, chat_id, "/help")
    await _articles(services, 12, rng)
    await dispatch_instant(services, services.now())
    services.wake_sender()
    await asyncio.wait_for(harness.sender.wait_empty(), timeout=90)
    received = sends(emulator.requests)
    # The limiter counts an answer after it arrives: wait for the last one to be counted.
    async with asyncio.timeout(10):
        while True:
            now, _ = await scrape(address)
            if moved(before, now, "digestbot_messages_sent_total") >= len(received):
                break
            await asyncio.sleep(0.02)
    after, label_values = await scrape(address)

    assert moved(before, after, "digestbot_messages_sent_total") == len(received)
    replies = sends(received, set(readers))
    assert moved(before, after, "digestbot_messages_sent_total", kind="reply") == len(replies)
    digests = sends(received, set(following))
    assert moved(before, after, "digestbot_messages_sent_total", kind="digest") == len(digests)
    statuses = Counter(r.status for r in received)
    stats = emulator.stats()
    refused = stats.faults.get("429", 0) + stats.flood_429
    assert refused > 0, "the run should meet some 429s"
    assert statuses[429] == refused
    assert moved(before, after, "digestbot_messages_sent_total", outcome="429") == refused
    assert moved(before, after, "digestbot_telegram_retry_after_seconds_count") == refused
    assert moved(before, after, "digestbot_telegram_retry_after_seconds_sum") == refused * 1.0
    assert moved(before, after, "digestbot_messages_sent_total", outcome="403") == statuses[403]
    assert moved(before, after, "digestbot_messages_sent_total", outcome="ok") == statuses[200]
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    assert server_errors > 0, "the run should meet some server errors"
    assert moved(before, after, "digestbot_messages_sent_total", outcome="5xx") == server_errors

    # Each /help was an update received, handled, and timed to its first reply.
    assert moved(before, after, "digestbot_updates_received_total", type="message") == len(readers)
    assert moved(
        before, after, "digestbot_updates_handled_total", type="message", outcome="ok"
    ) == len(readers)
    assert moved(before, after, "digestbot_reply_latency_seconds_count") == len(readers)
    assert moved(before, after, "digestbot_digests_composed_total", run="instant") == len(following)
    assert moved(before, after, "digestbot_digest_run_duration_seconds_count", run="instant") == 1
    assert moved(before, after, "digestbot_articles_ingested_total") == 12
    assert moved(before, after, "digestbot_db_writer_lock_wait_seconds_count") > 0
    granted = moved(before, after, "digestbot_rate_limiter_wait_seconds_count")
    assert granted == len(received)  # one grant per attempt, a retry after a 429 included

    people = {str(chat_id) for chat_id in [*readers, *following]}
    assert not people & label_values, "a chat id is a label value"


async def test_outbox_gauges_read_the_queue(served: tuple[Harness, str]) -> None:
    harness, address = served
    services: Services = harness.services
    now = services.now()
    chat_id = harness.emulator.add_user("Queued").id
    await harness.sender.stop()  # the rows stay queued while the gauges are read
    await outbox.enqueue(
        services.db,
        [
            NewMessage.text(chat_id, "one", kind="digest"),
            NewMessage.text(chat_id, "two", kind="post"),
        ],
        now=now - 120,
    )
    await outbox.enqueue(services.db, [NewMessage.text(chat_id, "three", kind="digest")], now=now)
    await gauges.refresh(services, now=now)
    values, _ = await scrape(address)

    def gauge(name: str, kind: str) -> float:
        return values[(name, (("kind", kind),))]

    assert gauge("digestbot_outbox_depth", "digest") == 2
    assert gauge("digestbot_outbox_depth", "channel") == 1
    assert gauge("digestbot_outbox_depth", "broadcast") == 0
    assert gauge("digestbot_outbox_oldest_pending_age_seconds", "digest") == 120
    assert gauge("digestbot_outbox_oldest_pending_age_seconds", "notice") == 0
    size = values[("digestbot_database_size_bytes", ())]
    assert size > 0
    if services.db.dialect == "sqlite":
        assert size >= services.settings.database_path.stat().st_size
