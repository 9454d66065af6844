"""Delivery rate: the outbox drained through the sender to an emulator in its own process.

Runs over the same private chats, each chat getting one digest-sized message,
so only the bot-wide budget can pace a run:

* Telegram's flood limits enforced by the emulator and the sender at its
  default budget (SEND_RATE_PER_SECOND=30): how close to Telegram's 30 msg/s
  the bot gets, and whether Telegram would have refused anything (429s);
* the limits lifted (emulator limits off, the limiter's budget far above what
  one process can send): the sender's own ceiling, i.e. what one process pushes
  through claim → send → mark, through the Application's request object
  (aiohttp) and, in the same run, through PTB's HTTPXRequest, the previous
  implementation; next to them, the same bot making the same requests straight
  from as many tasks as the sender keeps in flight, without the outbox: what PTB
  and its HTTP client alone allow;
* a paid broadcast (allow_paid_broadcast) of the same message to 20,000 chats
  (2,000 with --quick), queued as confirming one queues it, with the emulator
  enforcing Telegram's paid limit of 1,000 msg/s and the bot's paid budget at
  that limit: how close to it the sender gets.

The bot object is the Application's (`build_application(...).bot`: its
request object and the project's rate limiter), driven by `drain()` with the
sender's defaults, as `_post_init` starts it. The rate is read off the
emulator's request log: accepted sendMessage calls over the time between the
first and the last, so start-up is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import resource
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from telegram.ext import ExtBot
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBUserWarning

from bench import Options, say
from bench.latency import EmulatorProcess, add_users, cpu_seconds, emulator_process
from bench.report import Row, Target
from bot.config import Settings
from bot.delivery.limits import Limits
from bot.delivery.ratelimiter import BULK, TelegramRateLimiter
from bot.delivery.sender import drain, free_in_flight
from bot.emulator import DEFAULT_TOKEN
from bot.store import broadcasts, outbox
from bot.store.db import Database
from bot.store.outbox import NewMessage
from bot.telegram.app import build_application
from bot.telegram.request import AiohttpRequest
from bot.telegram.run import settle_collector

TELEGRAM_RATE = 30.0  # messages/s Telegram allows a bot overall
DEFAULT_BUDGET = float(Settings.model_fields["send_rate_per_second"].default)
# The planner spaces grants 1/budget apart, so a ceiling measured at a budget of
# 1,000 could only come out below 1,000: the lifted runs give the limiter a budget
# no process reaches, so only the sender's own cost paces them.
LIFTED_BUDGET = 100_000.0
RATIO_TARGET = Target(">=", 0.95)
NO_PREVIEW = {"is_disabled": True}
CEILING_TARGET = Target(">=", 1_500, "msg/s")
CEILING_RUNS = 3  # runs of the ceiling (and its reference) in a full run; the median is the figure
HTTPX = "httpx"  # label of the runs through PTB's HTTPXRequest, the previous implementation
PAID_LIMIT = 1_000.0  # messages/s Telegram allows a paid broadcast
PAID_TARGET = Target(">=", 900, "msg/s")
PAID_CHATS_PER_CEILING_MESSAGE = 2  # 20,000 chats by default, 2,000 with --quick
# As many requests at once as the sender keeps in flight at the lifted budget.
DIRECT_TASKS = free_in_flight(LIFTED_BUDGET)
# A digest as the bot sends one: a heading and ten linked titles (about 1.8 kB of HTML).
DIGEST = "🗞 <b>Your daily digest</b> — November 25, 2026\n\n" + "\n\n".join(
    f'{n}. <a href="https://news.example.org/en/article-{n}-{"x" * 24}">'
    f"<b>Workers at the plant number {n} vote to strike over wages</b></a>\n"
    "<i>Migration · Labour</i>"
    for n in range(1, 11)
)

Send = Callable[[ExtBot[Any]], Awaitable[int]]
"""Sends the run's messages through an initialised bot; returns how many were sent."""


@dataclass(frozen=True)
class Delivery:
    label: str
    messages: int
    sent: int
    seconds: float  # wall time of the run, start-up and tail included
    rate: float  # accepted messages/s between the first and the last acceptance
    flood_429: int  # refusals by the emulator's flood limits
    limiter_waits: int  # 429s the bot's rate limiter met
    cpu_ms: float  # this process's CPU (sender, PTB, SQLite thread) per message
    emulator_cpu_ms: float
    budget: float
    paid_budget: float = 0.0
    paid_messages: int = 0  # accepted with allow_paid_broadcast (billed 0.1 Star each)
    stars: float = 0.0


def previous_request() -> BaseRequest:
    """PTB's client as the ApplicationBuilder made it for the bot before aiohttp."""
    return HTTPXRequest(connection_pool_size=256)


async def measured(
    emulator: EmulatorProcess,
    label: str,
    messages: int,
    budget: float,
    send: Send,
    *,
    request: BaseRequest | None = None,
    paid_budget: float = 0.0,
    around: Callable[[ExtBot[Any]], AbstractAsyncContextManager[Any]] | None = None,
) -> Delivery:
    """Run `send` with the Application's bot at `budget` msg/s; what the emulator saw.

    `request`: the bot's request object instead of the Application's own;
    `paid_budget`: the paid broadcasts' budget (PAID_BROADCAST_RATE); `around`:
    what else runs in the process meanwhile (entered before the clock starts)."""
    client = emulator.client
    bot = bench_bot(emulator.base_url, budget, paid_budget=paid_budget, request=request)
    before = await client.stats()
    emulator_cpu = cpu_seconds(emulator.process.pid)
    threshold = gc.get_threshold()
    settle_collector()  # as `python -m bot run` does once its bot is built
    try:
        async with bot, around(bot) if around is not None else contextlib.nullcontext():
            usage = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            sent = await asyncio.wait_for(send(bot), timeout=60 + 3 * messages / budget)
            seconds = time.perf_counter() - started
            after_usage = resource.getrusage(resource.RUSAGE_SELF)
    finally:  # the benchmarks after this one run with the interpreter's own settings
        gc.unfreeze()
        gc.set_threshold(*threshold)
    limiter = bot.rate_limiter
    waits = limiter.flood_waits if isinstance(limiter, TelegramRateLimiter) else 0
    emulator_cpu = cpu_seconds(emulator.process.pid) - emulator_cpu
    after = await client.stats()
    records = await client.requests(since=before["requests"], method="sendMessage")
    accepted = sorted(record["at"] for record in records if record["status"] == 200)
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    cpu = (after_usage.ru_utime + after_usage.ru_stime) - (usage.ru_utime + usage.ru_stime)
    return Delivery(
        label=label,
        messages=messages,
        sent=sent,
        seconds=seconds,
        rate=(len(accepted) - 1) / span if span > 0 else float("nan"),
        flood_429=after["flood_429"] - before["flood_429"],
        limiter_waits=waits,
        cpu_ms=cpu / messages * 1000,
        emulator_cpu_ms=emulator_cpu / messages * 1000,
        budget=budget,
        paid_budget=paid_budget,
        paid_messages=after["paid_messages"] - before["paid_messages"],
        stars=round(after["stars_spent"] - before["stars_spent"], 1),
    )


def bench_bot(
    base_url: str,
    budget: float,
    *,
    paid_budget: float = 0.0,
    request: BaseRequest | None = None,
) -> ExtBot[Any]:
    """The Application's bot as a deployment with these budgets builds it: the paid
    budget is PAID_BROADCAST_RATE in its settings, not only in its limits, because
    that setting also picks its request object (aiohttp, `bot_request`). Left out,
    a paid run went through httpx, whose pool walks all its connections for every
    request: at 192 in flight, about 3 ms of CPU a message, and a paid broadcast at
    a third of the paid rate."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_base_url=base_url, paid_broadcast_rate=round(paid_budget)
    )
    limits = Limits(rate_per_second=budget, paid_rate_per_second=paid_budget)
    bot: ExtBot[Any] = build_application(
        settings, DEFAULT_TOKEN, limits=limits, request=request
    ).bot
    return bot


def through_outbox(db: Database, chats: list[int]) -> Send:
    """Queue one digest per chat, then drain the outbox with the sender's defaults."""

    async def send(bot: ExtBot[Any]) -> int:
        messages = [
            NewMessage.text(chat, DIGEST, kind="digest", link_preview_options=NO_PREVIEW)
            for chat in chats
        ]
        await outbox.enqueue(db, messages)
        counts = await drain(db, bot)
        return counts.get("sent", 0)

    return send


def paid_broadcast(db: Database, chats: list[int]) -> Send:
    """One paid broadcast to `chats`: its copies queued as confirming it queues them
    (a row per chat referring to the broadcast's request), then the outbox drained."""

    async def send(bot: ExtBot[Any]) -> int:
        draft = await broadcasts.create_draft(
            db,
            admin_id=1,
            admin_chat_id=chats[0],
            audience="all",
            method="sendMessage",
            params={"text": DIGEST, "parse_mode": "HTML", "link_preview_options": NO_PREVIEW},
            now=int(time.time()),
        )
        copies = [
            NewMessage.of_broadcast(chat, draft.id, "sendMessage", paid=True) for chat in chats
        ]
        await outbox.enqueue(db, copies)
        counts = await drain(db, bot)
        return counts.get("sent", 0)

    return send


def direct(chats: list[int]) -> Send:
    """The same requests as the sender makes, from DIRECT_TASKS tasks, no outbox."""

    async def send(bot: ExtBot[Any]) -> int:
        queue = iter(chats)
        sent = itertools.count()

        async def worker() -> None:
            for chat in queue:
                params = {
                    "chat_id": chat,
                    "text": DIGEST,
                    "parse_mode": "HTML",
                    "link_preview_options": NO_PREVIEW,
                }
                await bot.do_api_request("sendMessage", api_kwargs=params, rate_limit_args=BULK)
                next(sent)

        with warnings.catch_warnings():  # the typed method exists; the sender's reason holds
            warnings.simplefilter("ignore", PTBUserWarning)
            await asyncio.gather(*(worker() for _ in range(DIRECT_TASKS)))
        return next(sent)

    return send


async def run(options: Options) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        folder = Path(tmp)
        paid_chats = PAID_CHATS_PER_CEILING_MESSAGE * options.ceiling_messages
        count = max(options.delivery_messages, options.ceiling_messages, paid_chats)
        async with emulator_process(
            folder, "--limits", "--history", "2", "--log-limit", str(4 * count + 1_000)
        ) as emulator:
            say(options, f"{count:,} users in the emulator")
            chats = await add_users(emulator.client, count)
            n = options.delivery_messages
            db = await Database.open(folder / "outbox.sqlite3")
            try:
                # First: each chat's next message, in the run after it, comes seconds later.
                paid = await _paid_run(options, emulator, db, chats[:paid_chats])
                say(options, f"{n:,} messages, limits enforced, budget {DEFAULT_BUDGET:g}/s")
                limited = await measured(
                    emulator,
                    "Telegram's limits enforced",
                    n,
                    DEFAULT_BUDGET,
                    through_outbox(db, chats[:n]),
                )
                say(options, f"  {limited.rate:.1f} msg/s, {limited.flood_429} × 429")
                await emulator.client.configure(enforce_limits=False)
                n = options.ceiling_messages
                runs = 1 if options.quick else CEILING_RUNS
                say(options, f"{runs} × {n:,} messages, limits lifted, budget {LIFTED_BUDGET:g}/s")
                lifted_runs: list[Delivery] = []
                previous_runs: list[Delivery] = []
                for _ in range(runs):  # turn about, so the machine's drift falls on both
                    lifted_runs.append(
                        await measured(
                            emulator,
                            "limits lifted",
                            n,
                            LIFTED_BUDGET,
                            through_outbox(db, chats[:n]),
                            request=AiohttpRequest(),  # a bot with paid broadcasts on has it
                        )
                    )
                    say(options, f"  {lifted_runs[-1].rate:,.0f} msg/s")
                    previous_runs.append(
                        await measured(
                            emulator,
                            f"limits lifted, {HTTPX}",
                            n,
                            LIFTED_BUDGET,
                            through_outbox(db, chats[:n]),
                            request=previous_request(),
                        )
                    )
                    say(options, f"  through {HTTPX}: {previous_runs[-1].rate:,.0f} msg/s")
                lifted, previous = median_run(lifted_runs), median_run(previous_runs)
            finally:
                await db.close()
            floor = await measured(
                emulator,
                "limits lifted, no outbox",
                n,
                LIFTED_BUDGET,
                direct(chats[:n]),
                request=AiohttpRequest(),
            )
            say(options, f"  without the outbox: {floor.rate:,.0f} msg/s")
            errors = await emulator.client.protocol_errors()
    if errors:
        raise RuntimeError(f"the sender made invalid requests: {errors[:3]}")
    rows = _rows(limited, lifted, previous, floor)
    rows[-1] = replace(rows[-1], detail=_ceiling_runs(lifted_runs, previous_runs))
    return [*rows, _paid_row(paid)]


async def _paid_run(
    options: Options, emulator: EmulatorProcess, db: Database, chats: list[int]
) -> Delivery:
    say(options, f"paid broadcast to {len(chats):,} chats, paid budget {PAID_LIMIT:g}/s")
    run = await measured(
        emulator,
        "paid broadcast",
        len(chats),
        DEFAULT_BUDGET,
        paid_broadcast(db, chats),
        paid_budget=PAID_LIMIT,
    )
    say(options, f"  {run.rate:,.0f} msg/s, {run.flood_429} × 429, {run.stars:,.1f} Stars")
    return run


def _paid_row(run: Delivery) -> Row:
    row = Row(
        f"paid broadcast, Telegram's limits enforced, {run.messages:,} chats, paid budget"
        f" {run.paid_budget:,.0f} msg/s",
        run.rate,
        "msg/s",
        reference="Telegram's paid broadcast limit",
        reference_value=PAID_LIMIT,
        target=PAID_TARGET,
        detail=(
            f"paid broadcast: {run.sent:,} of {run.messages:,} sent in {run.seconds:.1f} s"
            f" (start-up and tail included), {run.paid_messages:,} billed by the emulator"
            f" ({run.stars:,.1f} Stars), {run.flood_429} × 429; CPU per message"
            f" {run.cpu_ms:.2f} ms (bot) and {run.emulator_cpu_ms:.2f} ms (emulator)."
        ),
    )
    if row.met is False:
        row = replace(row, note=_paid_note(run))
    return row


def median_run(runs: list[Delivery]) -> Delivery:
    """The run of median rate: a run of a few seconds differs from the next by up
    to a tenth on a shared machine, and one slow run is not the sender's ceiling."""
    return sorted(runs, key=lambda run: run.rate)[len(runs) // 2]


def _line(run: Delivery) -> str:
    return (
        f"{run.label:<28} {run.budget:>7g} {run.sent:>7,} {run.seconds:>7.1f} {run.rate:>8.1f}"
        f" {run.flood_429:>5} {run.cpu_ms:>11.2f} {run.emulator_cpu_ms:>9.2f}"
    )


def _detail(runs: list[Delivery]) -> str:
    return "\n".join(
        [
            f"one {len(DIGEST.encode()):,}-byte HTML digest to each private chat; emulator in"
            " its own process (python -m bot.emulator)",
            f"{'run':<28} {'budget':>7} {'sent':>7} {'wall s':>7} {'msg/s':>8} {'429s':>5}"
            f" {'CPU ms/msg':>11} {'emulator':>9}",
            *(_line(run) for run in runs),
            "msg/s: accepted sendMessage calls between the first and the last (the emulator's"
            " log). CPU per message: this process (sender, PTB, SQLite thread), and the"
            " emulator's. The bot's requests go through aiohttp (bot/telegram/request.py);"
            f" the {HTTPX} run through PTB's HTTPXRequest, as before it. No outbox:"
            f" {DIRECT_TASKS} tasks making the sender's requests through the same limiter and"
            " client: what PTB and aiohttp alone allow, the sender's outbox work aside.",
        ]
    )


def _rows(limited: Delivery, lifted: Delivery, previous: Delivery, floor: Delivery) -> list[Row]:
    rate = Row(
        f"delivery, Telegram's limits enforced, {limited.messages:,} chats, budget"
        f" {limited.budget:g} msg/s",
        limited.rate,
        "msg/s",
        reference="Telegram's limit",
        reference_value=TELEGRAM_RATE,
        ratio_target=RATIO_TARGET,
        detail=_detail([limited, lifted, previous, floor]),
    )
    refusals = Row(
        "delivery, Telegram's limits enforced: 429 answers per 1,000 messages",
        limited.flood_429 / limited.messages * 1000,
        "",
        target=Target("<=", 0),
    )
    ceiling = Row(
        f"delivery, limits lifted, {lifted.messages:,} chats (sender ceiling, aiohttp)",
        lifted.rate,
        "msg/s",
        reference=f"the same through {HTTPX} (previous implementation)",
        reference_value=previous.rate,
        target=CEILING_TARGET,
    )
    if rate.met is False:
        rate = replace(rate, note=_rate_note(limited))
    if refusals.met is False:
        refusals = replace(
            refusals, note="Telegram would have refused these: the sender's pacing is too tight."
        )
    if ceiling.met is False:
        ceiling = replace(ceiling, note=_ceiling_note(lifted, previous, floor))
    return [rate, refusals, ceiling]


def _ceiling_runs(lifted: list[Delivery], previous: list[Delivery]) -> str:
    return (
        f"{len(lifted)} runs of each, turn about; the row shows the median run's rate."
        "\n  aiohttp: " + ", ".join(f"{run.rate:,.0f}" for run in lifted) + " msg/s"
        f"\n  {HTTPX}: " + ", ".join(f"{run.rate:,.0f}" for run in previous) + " msg/s"
    )


def _rate_note(run: Delivery) -> str:
    kept = run.rate / run.budget
    return (
        f"The sender delivers {run.rate:.1f} msg/s, {kept:.1%} of its budget of"
        f" {run.budget:g} msg/s. Besides spacing grants 1/budget apart, the limiter lets a"
        " message go only a second after the answer to the one a budget's worth of grants"
        " before it, so that no second at Telegram holds more whatever the latency: each"
        " window lasts a second plus a round trip, and a busy event loop (answers noticed"
        " late) lengthens it."
    )


def _ceiling_note(run: Delivery, previous: Delivery, floor: Delivery) -> str:
    core = 1000 / run.cpu_ms if run.cpu_ms > 0 else float("nan")
    return (
        f"Through aiohttp this process spends {run.cpu_ms:.2f} ms of CPU per message"
        f" ({previous.cpu_ms:.2f} ms through {HTTPX}), so a core of its own would carry"
        f" about {core:,.0f} msg/s; the run got less, sharing the machine's cores with the"
        f" emulator ({run.emulator_cpu_ms:.2f} ms per message) and whatever else runs there."
        f" The same requests from {DIRECT_TASKS} tasks without the outbox take"
        f" {floor.cpu_ms:.2f} ms ({floor.rate:,.0f} msg/s): the other"
        f" {run.cpu_ms - floor.cpu_ms:.2f} ms are the sender's own work per message (claiming"
        " rows and marking them through aiosqlite's thread, a task and a limiter grant per"
        " row). What would close it: a core free for the bot, or less sender work per message."
    )


def _paid_note(run: Delivery) -> str:
    both = run.cpu_ms + run.emulator_cpu_ms
    pacing = (
        "Telegram's limit did not hold it back (0 × 429)."
        if run.flood_429 == 0
        else f"The emulator refused {run.flood_429} of them (429): the pacing is too tight."
    )
    return (
        f"The sender spent {run.cpu_ms:.2f} ms of CPU per paid message and the emulator"
        f" {run.emulator_cpu_ms:.2f} ms, on the same machine: together {both:.2f} ms, about"
        f" {1000 / both:,.0f} msg/s on one core, and the bot alone would carry about"
        f" {1000 / run.cpu_ms:,.0f} msg/s on a core of its own. {pacing} What would close"
        " it: a core free for the bot (against Telegram the emulator's share runs"
        " elsewhere), or less CPU per message in the sender (see the limits-lifted rows)."
    )
