"""The latency, delivery, digest and memory benchmarks run end to end at toy sizes.

As for the harness: how fast is never checked, only that each benchmark still
drives the real bot, sender and emulator processes and turns what it saw into
rows. Sizes are the smallest that exercise every step.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest
from telegram.request import HTTPXRequest

from bench import Options, delivery, digests, fanout, latency, memory, operating, pairing, reading
from bench.latency import Load, Phase, kind_of
from bot.delivery.ratelimiter import TelegramRateLimiter
from bot.telegram.request import AiohttpRequest


@pytest.fixture(scope="module")
def options(tmp_path_factory: pytest.TempPathFactory) -> Options:
    """Toy sizes; one 300-article archive cached for the whole module."""
    return Options(
        articles=300,
        latency_seconds=1.0,
        latency_step_seconds=0.5,
        latency_users=48,
        delivery_messages=8,
        ceiling_messages=8,
        fanout_subscribers=(12,),
        digest_chats=60,
        digest_articles=30,
        digest_large_chats=40,
        digest_large_articles=10,
        idle_seconds=0.5,
        cache_dir=tmp_path_factory.mktemp("cache"),
        verbose=False,
    )


def test_replies_are_matched_to_updates_in_order() -> None:
    phase = Phase(rate=2, seconds=1)
    phase.posted = [(1, 10.0, "/latest"), (2, 10.5, "war"), (1, 12.0, "/topics")]
    Load._match(phase, {1: [10.2, 12.4, 13.0], 2: []})
    assert [round(latency, 3) for latency in phase.latencies] == [0.2, 0.4]
    assert phase.kinds == ["/latest", "/topics"]
    assert (phase.missing, phase.extra_replies) == (1, 1)
    assert [kind_of(text) for text in ("/search x", "x y")] == ["/search", "text"]


async def test_latency_runs_the_bot_in_its_own_process(options: Options) -> None:
    rows = await latency.run(options)
    p50, p99, sustained, flooded_p50, flooded_p99, bursts = rows
    assert p50.figure == "command latency, 30 updates/s, 300 articles, p50"
    assert 0 < p50.value <= p99.value
    assert "rates tried" in p50.detail
    assert sustained.note.startswith("A floor"), "48 users cannot carry 60 updates/s"
    assert flooded_p50.figure.startswith("another user's reply latency while one user sends")
    assert flooded_p50.reference_value is not None
    assert flooded_p99.reference_value is not None
    assert "429s during the flood and the bursts: 0" in flooded_p50.detail
    assert "0 replies missing" in flooded_p50.detail
    assert bursts.reference_value is not None
    assert bursts.target is not None
    assert bursts.target.bound == pytest.approx(bursts.reference_value + 50, abs=0.1)


async def test_delivery_runs_through_the_outbox(options: Options) -> None:
    limited, refusals, ceiling, paid = await delivery.run(options)
    assert limited.reference_value == 30
    assert refusals.value == 0
    assert ceiling.value > 0
    assert ceiling.reference_value is not None  # the previous client, measured in the same run
    assert ceiling.reference_value > 0
    assert "limits lifted, no outbox" in limited.detail
    assert "limits lifted, httpx" in limited.detail
    assert paid.figure.startswith("paid broadcast, Telegram's limits enforced, 16 chats")
    assert paid.reference_value == 1_000
    assert paid.value > 0
    assert "16 of 16 sent" in paid.detail
    assert "16 billed by the emulator (1.6 Stars), 0 × 429" in paid.detail


async def test_fanout_goes_from_the_admin_s_ingest_to_every_subscriber(options: Options) -> None:
    rate, first, bad, window, p50, p99 = await fanout.run(options)
    assert rate.figure.startswith("fan-out, 1 article to 12 instant subscribers: rate")
    assert rate.value > 0
    assert rate.reference_value == 30
    assert first.value > 0
    assert bad.value == 0, "a 429, a duplicate or a subscriber missed"
    assert 0 < window.value <= 12 + 1
    assert "12 deliveries" in rate.detail
    assert p50.reference_value is not None, "the quiet bot, measured in the same run"
    assert p99.value >= p50.value


def test_most_in_one_second_slides_over_the_log() -> None:
    assert fanout.most_in_one_second([0.0, 0.5, 0.99, 1.0, 1.2, 1.98]) == 4
    assert fanout.most_in_one_second([]) == 0


async def test_digests_measure_dispatch_in_a_child_process(options: Options) -> None:
    seconds, peak, large, large_peak = await digests.run(options)
    assert seconds.figure.startswith("digest composition, 60 chats × 30 new articles")
    assert seconds.value > 0
    assert "60 targets" in seconds.detail
    assert "select" in seconds.detail
    assert peak.unit == "MB"
    # The previous implementation, measured in the same run, queued the same.
    assert seconds.reference_value is not None
    assert seconds.reference_value > 0
    assert peak.reference_value is not None
    shared, alone = (line for line in seconds.detail.splitlines() if "digests," in line)
    assert shared == alone
    assert large.figure.startswith("digest composition, 40 chats × 10 new articles")
    assert large.reference_value is None
    assert large_peak.unit == "MB"


async def test_idle_memory_settles_on_a_steady_process() -> None:
    started = time.monotonic()
    found = await memory._settle(os.getpid(), started, at_least=0, at_most=5, stable_for=0.3)
    assert found.rss_kib > 0
    assert found.settled


def test_a_paid_run_s_bot_is_built_as_a_paid_deployment_builds_it() -> None:
    """PAID_BROADCAST_RATE picks the bot's request object: a paid run whose budget was
    only in the limiter's `Limits` went through httpx, whose pool walks every
    connection for each request, and measured a third of the paid rate at 20,000
    chats."""
    url = "http://127.0.0.1:9/bot"
    paid = delivery.bench_bot(url, 30, paid_budget=1_000)
    assert isinstance(paid.request, AiohttpRequest)
    limiter = paid.rate_limiter
    assert isinstance(limiter, TelegramRateLimiter)
    assert limiter.limits.paid_rate_per_second == 1_000
    assert isinstance(delivery.bench_bot(url, 30).request, HTTPXRequest)


async def test_the_read_conversion_row_converts_a_50_kb_article(options: Options) -> None:
    [row] = await reading.run(Options(rounds=1, verbose=False))
    assert row.unit == "ms"
    assert row.reference_value is not None
    assert "messages" in row.detail
    assert len(reading.article_html().encode()) >= 50_000


async def test_operating_measures_the_metrics_server_on_and_off(options: Options) -> None:
    # One pair of each (the full run's several pairs are the same code, repeated).
    latency_p50, latency_p99, ceiling = await operating.run(replace(options, quick=True))
    assert latency_p50.figure == "reply latency with the metrics server on, p50"
    assert latency_p50.value > 0
    assert latency_p50.reference_value is not None, "the bot without it, in the same run"
    assert latency_p99.value >= latency_p50.value
    assert ceiling.value > 0
    assert ceiling.reference_value is not None
    assert ceiling.ratio_target is not None
    assert "metrics on: /metrics and /readyz scraped" in latency_p50.detail
    assert "on ÷ off within each pair" in latency_p50.detail


async def test_pairing_reports_quality_and_where_its_ingest_time_goes() -> None:
    rows = await pairing.run(Options(ingest_entries=60, ingest_runs=1, verbose=False))
    precision, recall, *_, cost = rows
    assert precision.value >= 0.98
    assert recall.value > 0
    assert cost.reference_value is not None, "the same ingest with pairing off"
    assert "keys at prepare" in cost.detail
    assert "matching with its reads and writes" in cost.detail
