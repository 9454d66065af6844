"""What the metrics server costs: the same bot with `METRICS_ADDRESS` set and
scraped every second (a busy Prometheus, plus a supervisor asking /readyz) and
without it, measured in one run, turn about so the machine's drift falls on both:

* reply latency: `python -m bot run` on a copy of the archive, 30 updates/s of the
  latency benchmark's mix, the emulator in its own process;
* the sender's ceiling with the limits lifted (through the outbox, aiohttp), in
  this process, as the delivery benchmark measures it.

The counters themselves are always counted, server or not (a few calls of
prometheus_client per message); what the setting switches on is the server,
the gauges it reads from the database every 15 s, and answering scrapes. The
cost of the counters a sent message moves is measured apart, per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import tempfile
import timeit
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import generate_latest
from telegram.ext import ExtBot

import bot.gauges as gauges
import bot.metrics as metrics
from bench import Options, say
from bench.delivery import LIFTED_BUDGET, measured, through_outbox
from bench.latency import (
    REPLY_BUDGET,
    Load,
    Phase,
    add_users,
    bot_process,
    emulator_process,
    prepare_chats,
    scratch_copy,
)
from bench.report import Row, Target
from bench.search import TOPICS, database
from bot.config import Settings
from bot.services import Services
from bot.store.db import Database
from bot.telegram.ops import serve_ops
from bot.telegram.request import AiohttpRequest
from bot.topics import load_catalogue

APART = 0.05  # the "≤ 5% apart"
SCRAPE_EVERY = 1.0  # s
CEILING_ROUNDS = 9  # pairs of ceiling runs in a full run: a run is seconds, its noise ±10%
LATENCY_ROUNDS = 3  # pairs of latency phases in a full run, each as long as the latency row's


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def scrape(address: str, counts: list[int]) -> None:
    """/metrics and /readyz every `SCRAPE_EVERY` seconds until cancelled."""
    async with aiohttp.ClientSession() as session:
        while True:
            for path in ("/metrics", "/readyz"):
                async with session.get(f"http://{address}{path}") as response:
                    await response.read()
                    counts[0] += response.status == 200
            await asyncio.sleep(SCRAPE_EVERY)


@contextlib.asynccontextmanager
async def scraping(address: str | None) -> AsyncIterator[list[int]]:
    counts = [0]
    if address is None:
        yield counts
        return
    task = asyncio.create_task(scrape(address, counts))
    try:
        yield counts
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def latency_pairs(options: Options, rounds: int, seconds: float) -> dict[str, list[Phase]]:
    """`rounds` × (off, on): 30 updates/s for `seconds` each, after a warm-up."""
    built = await database(options)
    found: dict[str, list[Phase]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="bench-operating-") as tmp:
        folder = Path(tmp)
        async with emulator_process(folder, "--log-limit", "500000", "--history", "4") as emu:
            users = await add_users(emu.client, options.latency_users)
            path = scratch_copy(built.path, folder)
            await prepare_chats(path, users)
            for _ in range(rounds):
                for label in ("off", "on"):
                    address = f"127.0.0.1:{free_port()}" if label == "on" else None
                    settings = {"SEND_RATE_PER_SECOND": f"{REPLY_BUDGET:g}"}
                    if address is not None:
                        settings["METRICS_ADDRESS"] = address
                    async with bot_process(emu, path, folder, settings=settings) as process:
                        load = Load(emu, users, process.pid)
                        await load.run(options.latency_rate, 2.0)  # warm-up, untimed
                        async with scraping(address) as answered:
                            phase = await load.run(options.latency_rate, seconds)
                        if address is not None and answered[0] == 0:
                            raise RuntimeError("the metrics server never answered")
                    say(options, f"  metrics {label}: p50 {phase.p(0.5):.1f} ms")
                    found[label].append(phase)
            errors = await emu.client.protocol_errors()
    if errors:
        raise RuntimeError(f"the bot made invalid requests: {errors[:3]}")
    return found


def served(db: Database, address: str) -> Callable[[ExtBot[Any]], Any]:
    """What the lifespan starts with METRICS_ADDRESS: the server, its gauges, and
    here a scraper, around a delivery run."""

    @contextlib.asynccontextmanager
    async def around(bot: ExtBot[Any]) -> AsyncIterator[None]:
        settings = Settings(_env_file=None, metrics_address=address)  # type: ignore[call-arg]
        services = Services(settings, db, load_catalogue(TOPICS))
        stop = await serve_ops(address, services, bot)
        try:
            async with gauges.refreshing(services), scraping(address):
                yield
        finally:
            await stop()

    return around


async def ceiling_pairs(options: Options, rounds: int) -> dict[str, list[float]]:
    """`rounds` pairs of the limits-lifted delivery run; msg/s of each.

    A run lasts seconds and two runs of the same code differ by up to a fifth on
    a shared machine, so the pairs alternate which goes first (drift, a warmer
    emulator) and the row compares medians of several."""
    found: dict[str, list[float]] = {"off": [], "on": []}
    n = options.ceiling_messages
    with tempfile.TemporaryDirectory(prefix="bench-operating-") as tmp:
        folder = Path(tmp)
        async with emulator_process(folder, "--history", "2", "--log-limit", "200000") as emu:
            chats = await add_users(emu.client, n)
            db = await Database.open(folder / "outbox.sqlite3")
            try:
                for turn in range(rounds):
                    for label in ("off", "on") if turn % 2 == 0 else ("on", "off"):
                        around = served(db, f"127.0.0.1:{free_port()}") if label == "on" else None
                        run = await measured(
                            emu,
                            f"limits lifted, metrics {label}",
                            n,
                            LIFTED_BUDGET,
                            through_outbox(db, chats),
                            request=AiohttpRequest(),
                            around=around,
                        )
                        say(options, f"  metrics {label}: {run.rate:,.0f} msg/s")
                        found[label].append(run.rate)
            finally:
                await db.close()
    return found


def scrape_cost() -> tuple[float, int]:
    """ms of the event loop one /metrics answer takes, with the counters as the
    runs left them, and its size in bytes: what a scrape costs beyond the network."""
    body = generate_latest(metrics.REGISTRY)
    number = 200
    seconds = min(timeit.repeat(lambda: generate_latest(metrics.REGISTRY), number=number, repeat=3))
    return seconds / number * 1000, len(body)


def counters_per_message() -> float:
    """µs of the counters one sent message moves (its send, its wait for the limiter)."""
    sent = metrics.MESSAGES_SENT.labels("digest", "ok")
    waited = metrics.RATE_LIMIT_WAIT.labels("bulk")

    def one() -> None:
        sent.inc()
        waited.observe(0.001)

    number = 200_000
    return min(timeit.repeat(one, number=number, repeat=3)) / number * 1e6


async def run(options: Options) -> list[Row]:
    rounds = 1 if options.quick else LATENCY_ROUNDS
    ceiling_rounds = 1 if options.quick else CEILING_ROUNDS
    seconds = options.latency_seconds / (5 if options.quick else 1)
    say(options, f"reply latency, metrics off and on, {rounds} × {seconds:g} s each")
    latencies = await latency_pairs(options, rounds, seconds)
    say(
        options,
        f"sender ceiling, metrics off and on, {ceiling_rounds} × {options.ceiling_messages:,}",
    )
    ceilings = await ceiling_pairs(options, ceiling_rounds)
    counters = counters_per_message()
    return _rows(latencies, ceilings, counters, seconds, scrape_cost())


def _rows(
    latencies: dict[str, list[Phase]],
    ceilings: dict[str, list[float]],
    counters: float,
    seconds: float,
    scrape: tuple[float, int],
) -> list[Row]:
    def p50(label: str) -> float:
        return statistics.median(phase.p(0.5) for phase in latencies[label])

    def p99(label: str) -> float:
        return statistics.median(phase.p(0.99) for phase in latencies[label])

    rate = latencies["off"][0].rate
    pair_ratios = [on / off for on, off in zip(ceilings["on"], ceilings["off"], strict=True)]
    off_label = "the same bot without METRICS_ADDRESS, same run"
    detail = "\n".join(
        [
            f"reply latency at {rate:g} updates/s, {seconds:g} s a phase, off and on in turn"
            f" ({len(latencies['on'])} each; median of the phases):",
            *(
                f"  metrics {label}: p50 "
                + ", ".join(f"{phase.p(0.5):.1f}" for phase in latencies[label])
                + " ms; p99 "
                + ", ".join(f"{phase.p(0.99):.1f}" for phase in latencies[label])
                + " ms"
                for label in ("off", "on")
            ),
            "sender ceiling, limits lifted, through the outbox (aiohttp), off and on in turn"
            " (the first of each pair alternating; median of the runs):",
            *(
                f"  metrics {label}: " + ", ".join(f"{r:,.0f}" for r in ceilings[label]) + " msg/s"
                for label in ("off", "on")
            ),
            "  on ÷ off within each pair: "
            + ", ".join(f"{r:.2f}" for r in pair_ratios)
            + f" (median {statistics.median(pair_ratios):.2f})",
            f"metrics on: /metrics and /readyz scraped every {SCRAPE_EVERY:g} s, the gauges"
            " refreshed every 15 s. The counters a sent message moves cost"
            f" {counters:.2f} µs whether or not the server runs; one /metrics answer"
            f" ({scrape[1] / 1000:.1f} kB) takes {scrape[0]:.2f} ms of the event loop.",
        ]
    )
    latency_apart = Target("<=", 1 + APART)
    return [
        Row(
            "reply latency with the metrics server on, p50",
            p50("on"),
            "ms",
            off_label,
            p50("off"),
            ratio_target=latency_apart,
            detail=detail,
        ),
        Row(
            "reply latency with the metrics server on, p99",
            p99("on"),
            "ms",
            off_label,
            p99("off"),
            ratio_target=latency_apart,
        ),
        Row(
            "sender ceiling with the metrics server on (limits lifted)",
            statistics.median(ceilings["on"]),
            "msg/s",
            off_label,
            statistics.median(ceilings["off"]),
            ratio_target=Target(">=", 1 - APART),
        ),
    ]
