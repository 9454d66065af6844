"""Command latency: the real bot answering many users, timed on the emulator's clock.

The bot runs as in production, `python -m bot run` in its own process, polling
a standalone emulator (`python -m bot.emulator`) in another; this process only
plays the users through the emulator's control API. So the load generator
shares neither the bot's event loop nor the emulator's, and a reply's time is
the emulator's own record of the request that delivered it.

Latency is from just before an update is posted to the emulator to the moment
the emulator has stored the bot's reply (its request log's `at`): getUpdates,
PTB's dispatch, the handler's database work and the sendMessage round trip.
Every update comes from another user (round robin over many), so Telegram's
one-message-a-second-per-chat pacing never holds a reply back, and the bot's
overall send budget is raised above the offered rate (SEND_RATE_PER_SECOND;
the emulator's flood limits are off): what is measured is the bot's own work,
not a queue for a budget. With the default 28 msg/s, 30 updates/s that each
need a reply cannot be answered in time by construction.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import Options, say
from bench.report import Row, Target
from bench.search import database, percentile, queries
from bot.config import Settings
from bot.digest.dispatch import reschedule
from bot.emulator import DEFAULT_TOKEN, EmulatorClient
from bot.store import chats
from bot.store.db import Database

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_UPDATES_PER_SECOND = 30.0  # the reference: about what a bot may send a second
P50_TARGET = Target("<=", 20.0, "ms")
P99_TARGET = Target("<=", 100.0, "ms")
SUSTAINED_P99 = 1.0  # s: above this p99 a rate is not sustained
REPLY_BUDGET = 1000.0  # SEND_RATE_PER_SECOND for the bot under test (its maximum)
MIN_USER_GAP = 1.5  # s between two updates of one user: above the bot's 1.05 s chat pacing
GRACE = 5.0  # s after a phase's last update for its replies to arrive
# Settings the bot would read from the caller's environment; the run sets its own.
SETTINGS_ENV = frozenset(name.upper() for name in Settings.model_fields)


# --- processes ---------------------------------------------------------------


class ProcessFailed(RuntimeError):
    """A helper process died or never became ready; carries the end of its log."""


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text("utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def _stop(process: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `grace` seconds."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


@dataclass
class EmulatorProcess:
    process: asyncio.subprocess.Process
    base_url: str
    client: EmulatorClient


@asynccontextmanager
async def emulator_process(folder: Path, *args: str) -> AsyncIterator[EmulatorProcess]:
    """`python -m bot.emulator` on a free loopback port, and a client for its control API."""
    log = folder / "emulator.log"
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.emulator",
            "--port",
            "0",
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
        )
    try:
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
        except TimeoutError:
            line = b""
        base_url = line.decode().strip()
        if not base_url.startswith("http"):
            raise ProcessFailed(f"the emulator did not start:\n{_tail(log)}")
        async with EmulatorClient(base_url) as client:
            yield EmulatorProcess(process, base_url, client)
    finally:
        await _stop(process)


async def add_users(client: EmulatorClient, count: int, *, concurrency: int = 16) -> list[int]:
    """`count` users who have opened the bot; their private chats' ids."""
    gate = asyncio.Semaphore(concurrency)

    async def one(number: int) -> int:
        async with gate:
            user = await client.add_user(f"Reader {number}", language_code="en")
            return int(user["id"])

    return list(await asyncio.gather(*(one(n) for n in range(count))))


def scratch_copy(source: Path, folder: Path) -> Path:
    """A private copy of a cached database: the bot writes (chats, migrations), the cache
    must not change under the other benchmarks."""
    target = folder / "bot.sqlite3"
    shutil.copyfile(source, target)
    return target


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time of each thread of a process so far, by thread id (empty without /proc)."""
    found: dict[int, float] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError, ValueError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            found[int(task.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def memory_kib(pid: int | str) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and the like from /proc/<pid>/status, in KiB ("self":
    this process; empty where there is no /proc)."""
    found: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            found[name] = int(value.split()[0])
    return found


@asynccontextmanager
async def bot_process(
    emulator: EmulatorProcess,
    database_path: Path,
    folder: Path,
    *,
    settings: dict[str, str] | None = None,
    timeout: float = 120.0,  # noqa: ASYNC109
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run` against the emulator, yielded once it polls for updates
    (the Application is initialised, the store open, the jobs installed).

    Polling mode calls deleteWebhook right before its first getUpdates, and the
    emulator logs a call when it is answered: a long poll only when it ends, so
    deleteWebhook is the sign."""
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_ENV}
    env.update(
        BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_BASE_URL=emulator.base_url,
        DATABASE_PATH=str(database_path),
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        **(settings or {}),
    )
    log = folder / "bot.log"
    with log.open("wb") as output:
        # cwd: a folder without a .env, so only the settings above apply.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=folder,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            stats = await emulator.client.stats()
            if stats["by_method"].get("deleteWebhook", 0) > 0:
                await asyncio.sleep(0.2)  # the first getUpdates, Application.start()
                break
            if process.returncode is not None or time.monotonic() > deadline:
                raise ProcessFailed(f"the bot did not start polling:\n{_tail(log)}")
            await asyncio.sleep(0.05)
        yield process
    finally:
        await _stop(process)


# --- the load -----------------------------------------------------------------


def commands(seed: int = 3) -> list[str]:
    """The mix users type, in a fixed order: searches (plain text and /search) over the
    search benchmark's words, /latest and /topics."""
    rng = random.Random(seed)
    words = [query.text for query in queries()]
    mix: list[str] = []
    for _ in range(500):
        kind = rng.choices(("text", "search", "latest", "topics"), (35, 25, 25, 15))[0]
        if kind == "text":
            mix.append(rng.choice(words))
        elif kind == "search":
            mix.append(f"/search {rng.choice(words)}")
        else:
            mix.append(f"/{kind}")
    return mix


def kind_of(text: str) -> str:
    return text.split()[0] if text.startswith("/") else "text"


@dataclass
class Phase:
    """One stretch of load at a fixed rate, and what came back."""

    rate: float
    seconds: float
    posted: list[tuple[int, float, str]] = field(default_factory=list)  # (chat, at, text)
    latencies: list[float] = field(default_factory=list)  # s, in posting order
    kinds: list[str] = field(default_factory=list)
    missing: int = 0
    extra_replies: int = 0
    bot_cpu: float = 0.0  # s of the bot process's CPU during the phase
    post_span: float = 0.0  # s from the first post to the last
    reply_span: float = 0.0  # s from the first matched reply to the last
    busiest_worker: float = 0.0  # share of the phase the busiest thread but the loop ran

    @property
    def posted_rate(self) -> float:
        return (len(self.posted) - 1) / self.post_span if self.post_span > 0 else 0.0

    @property
    def reply_rate(self) -> float:
        """Replies per second while they came: below the posting rate, the bot fell behind
        (a short step can end before the growing queue shows in the p99)."""
        return (len(self.latencies) - 1) / self.reply_span if self.reply_span > 0 else 0.0

    @property
    def sustained(self) -> bool:
        return (
            self.missing == 0
            and bool(self.latencies)
            and percentile(self.latencies, 0.99) <= SUSTAINED_P99
            and self.posted_rate >= 0.95 * self.rate
            and self.reply_rate >= 0.95 * self.posted_rate
        )

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000 if self.latencies else float("nan")


class Load:
    """Posts updates at a fixed rate, round robin over users, and matches replies."""

    def __init__(self, emulator: EmulatorProcess, users: Sequence[int], bot_pid: int) -> None:
        self.emulator = emulator
        self.users = list(users)
        self.bot_pid = bot_pid
        self.mix = commands()
        self._next_user = 0
        self._next_text = 0

    async def run(
        self, rate: float, seconds: float, *, without: frozenset[str] = frozenset()
    ) -> Phase:
        """`rate` updates a second for `seconds`, the mix less the command kinds in
        `without`, then wait for the replies."""
        client = self.emulator.client
        phase = Phase(rate, seconds)
        since = (await client.stats())["requests"]
        count = max(2, round(rate * seconds))
        cpu_before = cpu_seconds(self.bot_pid)
        threads_before = thread_cpu_seconds(self.bot_pid)
        start = time.perf_counter() + 0.05
        tasks: list[asyncio.Task[Any]] = []
        for number in range(count):
            delay = start + number / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            chat = self.users[self._next_user % len(self.users)]
            text = self.mix[self._next_text % len(self.mix)]
            while kind_of(text) in without:
                self._next_text += 1
                text = self.mix[self._next_text % len(self.mix)]
            self._next_user += 1
            self._next_text += 1
            phase.posted.append((chat, time.time(), text))
            tasks.append(asyncio.create_task(client.send_user_message(chat, chat, text)))
        await asyncio.gather(*tasks)
        phase.post_span = phase.posted[-1][1] - phase.posted[0][1]
        replies = await self._replies(since, len(phase.posted))
        wall = time.perf_counter() - start
        phase.bot_cpu = cpu_seconds(self.bot_pid) - cpu_before
        threads = thread_cpu_seconds(self.bot_pid)
        workers = [
            spent - threads_before.get(tid, 0.0)
            for tid, spent in threads.items()
            if tid != self.bot_pid
        ]
        phase.busiest_worker = max(workers, default=0.0) / wall if wall > 0 else 0.0
        self._match(phase, replies)
        return phase

    async def _replies(self, since: int, expected: int) -> dict[int, list[float]]:
        """sendMessage calls accepted since request number `since`, per chat, waiting up
        to GRACE seconds for as many as updates were posted."""
        client = self.emulator.client
        deadline = time.monotonic() + GRACE
        base = (await client.stats())["by_method"].get("sendMessage", 0)
        records = await client.requests(since=since, method="sendMessage")
        while len(records) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            count = (await client.stats())["by_method"].get("sendMessage", 0)
            if count != base:
                base = count
                records = await client.requests(since=since, method="sendMessage")
        by_chat: dict[int, list[float]] = {}
        for record in records:
            if record["status"] == 200:
                by_chat.setdefault(int(record["params"]["chat_id"]), []).append(record["at"])
        return by_chat

    @staticmethod
    def _match(phase: Phase, replies: dict[int, list[float]]) -> None:
        """Each command is answered with one message, and a user's next update comes
        only after MIN_USER_GAP: the k-th reply in a chat answers its k-th update."""
        taken: dict[int, int] = {}
        answered: list[float] = []
        for chat, at, text in phase.posted:
            index = taken.get(chat, 0)
            answers = replies.get(chat, [])
            if index >= len(answers):
                phase.missing += 1
                continue
            taken[chat] = index + 1
            phase.latencies.append(max(0.0, answers[index] - at))
            phase.kinds.append(kind_of(text))
            answered.append(answers[index])
        if answered:
            phase.reply_span = max(answered) - min(answered)
        phase.extra_replies = sum(len(a) for a in replies.values()) - sum(taken.values())


# --- the benchmark -------------------------------------------------------------


@dataclass(frozen=True)
class Ceiling:
    steps: list[Phase]
    sustained: float  # highest rate sustained, updates/s
    limited_by_users: bool


async def find_ceiling(load: Load, options: Options, first: Phase) -> Ceiling:
    """From the headline run: double the rate until a step is not sustained (or halve
    it until one is), then try once halfway between the last good and the first bad."""
    max_rate = len(load.users) / MIN_USER_GAP
    steps = [first]
    best = first.rate if first.sustained else 0.0
    failed: float | None = None if first.sustained else first.rate
    factor = 2.0 if first.sustained else 0.5
    rate = first.rate * factor
    while rate <= max_rate and rate >= first.rate / 8:
        phase = await load.run(rate, options.latency_step_seconds)
        steps.append(phase)
        say(options, f"  {rate:6.0f} updates/s: p99 {phase.p(0.99):,.0f} ms, " + _status(phase))
        await asyncio.sleep(0.5)
        if phase.sustained:
            best = max(best, rate)
        else:
            failed = rate if failed is None else min(failed, rate)
        if (factor > 1) != phase.sustained:
            break
        rate *= factor
    if failed is not None and best > 0:
        middle = round((best + failed) / 2)
        phase = await load.run(middle, options.latency_step_seconds)
        steps.append(phase)
        say(options, f"  {middle:6.0f} updates/s: p99 {phase.p(0.99):,.0f} ms, " + _status(phase))
        if phase.sustained:
            best = max(best, middle)
    steps.sort(key=lambda step: step.rate)
    return Ceiling(steps, best, failed is None)


def _status(phase: Phase) -> str:
    if phase.sustained:
        return "sustained"
    reasons = []
    if phase.missing:
        reasons.append(f"{phase.missing} replies missing after {GRACE:g} s")
    if phase.latencies and percentile(phase.latencies, 0.99) > SUSTAINED_P99:
        reasons.append(f"p99 over {SUSTAINED_P99:g} s")
    if phase.posted_rate < 0.95 * phase.rate:
        reasons.append(f"load fell behind ({phase.posted_rate:.0f}/s posted)")
    if phase.reply_rate < 0.95 * phase.posted_rate:
        reasons.append(f"replies fell behind ({phase.reply_rate:.0f}/s)")
    return "not sustained: " + ", ".join(reasons)


async def prepare_chats(path: Path, users: Sequence[int]) -> int:
    """The users are known to the bot, as returning readers are: their chats and
    targets exist (first contact costs a few writes more). Returns the number of
    topic tags in the archive, for the notes."""
    db = await Database.open(path)
    try:
        now = int(time.time())
        for user in users:
            await chats.save_chat(db, chat_id=user, type="private", title="Reader", now=now)
            target = await chats.ensure_target(db, user, ui_language="en", timezone="UTC", now=now)
            await chats.update_target(db, target.id, next_digest_at=reschedule(target, now))
        return int(await db.fetchval("SELECT count(*) FROM article_topics"))
    finally:
        await db.close()


@dataclass(frozen=True)
class Result:
    articles: int
    tags: int
    main: Phase
    without_topics: Phase  # the same rate and users, /topics left out of the mix
    ceiling: Ceiling


async def run(options: Options) -> list[Row]:
    built = await database(options)
    rate = options.latency_rate
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        folder = Path(tmp)
        async with emulator_process(folder, "--log-limit", "500000", "--history", "4") as emu:
            users = await add_users(emu.client, options.latency_users)
            path = scratch_copy(built.path, folder)
            tags = await prepare_chats(path, users)
            say(options, f"{len(users):,} users; the bot on a copy of {built.path.name}")
            budget = {"SEND_RATE_PER_SECOND": f"{REPLY_BUDGET:g}"}
            async with bot_process(emu, path, folder, settings=budget) as bot:
                load = Load(emu, users, bot.pid)
                await load.run(rate, min(2.0, options.latency_seconds / 10))  # warm-up, untimed
                say(options, f"{rate:g} updates/s for {options.latency_seconds:g} s")
                main = await load.run(rate, options.latency_seconds)
                say(options, f"  p50 {main.p(0.5):.1f} ms, p99 {main.p(0.99):.1f} ms")
                plain = await load.run(
                    rate, options.latency_seconds / 5, without=frozenset({"/topics"})
                )
                say(options, f"  without /topics: p50 {plain.p(0.5):.1f}, p99 {plain.p(0.99):.1f}")
                say(options, "stepping the rate until replies fall behind")
                ceiling = await find_ceiling(load, options, main)
            errors = await emu.client.protocol_errors()
    if errors:
        raise RuntimeError(f"the bot made invalid requests: {errors[:3]}")
    return _rows(Result(built.articles, tags, main, plain, ceiling), options)


def _rows(result: Result, options: Options) -> list[Row]:
    main, ceiling = result.main, result.ceiling
    figure = f"command latency, {main.rate:g} updates/s, {result.articles:,} articles"
    p50 = Row(f"{figure}, p50", main.p(0.5), "ms", target=P50_TARGET, detail=_detail(result))
    p99 = Row(f"{figure}, p99", main.p(0.99), "ms", target=P99_TARGET)
    if p50.met is False:
        p50 = replace(p50, note=_note(result))
    if p99.met is False:
        p99 = replace(p99, note=_note(result))
    sustained = Row(
        f"highest update rate sustained (p99 ≤ {SUSTAINED_P99:g} s, none lost), {result.articles:,}"
        " articles",
        ceiling.sustained,
        "updates/s",
        reference=f"Telegram's {TELEGRAM_UPDATES_PER_SECOND:g} updates/s",
        reference_value=TELEGRAM_UPDATES_PER_SECOND,
        ratio_target=Target(">=", 1.0),
    )
    if ceiling.limited_by_users:
        sustained = replace(
            sustained,
            note=f"A floor, not the bot's limit: the run has {options.latency_users:,} users and"
            f" keeps each user's updates {MIN_USER_GAP:g} s apart, so it stops at"
            f" {options.latency_users / MIN_USER_GAP:,.0f} updates/s (--latency-users).",
        )
    elif sustained.met is False:
        sustained = replace(sustained, note=_note(result))
    return [p50, p99, sustained]


def _by_kind(phase: Phase) -> list[str]:
    lines = []
    kinds = sorted(set(phase.kinds), key=lambda k: (k != "text", k))
    for kind in kinds:
        samples = [lat for lat, k in zip(phase.latencies, phase.kinds, strict=True) if k == kind]
        lines.append(
            f"  {kind:<9} {len(samples):>6} {percentile(samples, 0.5) * 1000:>8.1f}"
            f" {percentile(samples, 0.99) * 1000:>8.1f} {max(samples) * 1000:>8.1f}"
        )
    return lines


def _detail(result: Result) -> str:
    main, plain, ceiling = result.main, result.without_topics, result.ceiling
    lines = [
        f"{main.rate:g} updates/s for {main.seconds:g} s from distinct users (round robin),"
        f" {len(main.posted):,} updates, {main.missing} unanswered; bot CPU"
        f" {_cpu_ms(main):.1f} ms per update; busiest thread besides the event loop (here the"
        f" store's reader connection) busy {main.busiest_worker:.0%} of the time",
        f"  {'command':<9} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}",
        *_by_kind(main),
        f"the same rate without /topics for {plain.seconds:g} s: p50 {plain.p(0.5):.1f} ms,"
        f" p99 {plain.p(0.99):.1f} ms, bot CPU {_cpu_ms(plain):.1f} ms per update, busiest"
        f" thread {plain.busiest_worker:.0%}",
        f"rates tried ({main.seconds:g} s at {main.rate:g}/s, steps of"
        f" {ceiling.steps[-1].seconds:g} s; sustained: p99 ≤ {SUSTAINED_P99:g} s, every update"
        f" answered within {GRACE:g} s, updates posted and replies coming at 95% of the rate):",
        f"  {'rate/s':>7} {'posted/s':>9} {'replies/s':>10} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'missing':>8} {'CPU ms/update':>14} {'reader':>7}  verdict",
    ]
    for step in ceiling.steps:
        lines.append(
            f"  {step.rate:>7.0f} {step.posted_rate:>9.0f} {step.reply_rate:>10.0f}"
            f" {step.p(0.5):>8.1f} {step.p(0.99):>8.0f} {step.missing:>8}"
            f" {_cpu_ms(step):>14.1f} {step.busiest_worker:>7.0%}"
            f"  {'sustained' if step.sustained else 'no'}"
        )
    lines.append(
        "Latency: from just before the update is posted to the emulator's control API to the"
        " emulator's log entry for the reply's sendMessage. Bot: `python -m bot run` with"
        f" SEND_RATE_PER_SECOND={REPLY_BUDGET:g}, emulator flood limits off; users known to the"
        " bot (chats and targets exist)."
    )
    return "\n".join(lines)


def _cpu_ms(phase: Phase) -> float:
    return phase.bot_cpu / max(1, len(phase.posted)) * 1000


def _note(result: Result) -> str:
    """Why the latency targets were missed, from this run's figures."""
    main, plain = result.main, result.without_topics
    p50s, p99s = _by_kind_ms(main, 0.5), _by_kind_ms(main, 0.99)
    slowest = sorted(p99s, key=lambda kind: -p99s[kind])[:2]
    remedies = []
    if "/topics" in slowest and p50s["/topics"] > P50_TARGET.bound:
        remedies.append(
            f"/topics counts all {result.tags:,} topic tags on each call: keep the counts, which"
            " change only when articles are stored (bot/store/topics.py)"
        )
    remedies.append(
        "give reads more than one connection (bot/store/db.py), so one slow query does not"
        " hold up the rest"
    )
    return (
        f"At {main.rate:g} updates/s the bot spends {_cpu_ms(main):.1f} ms of CPU per update,"
        " mostly SQLite's, and its busiest thread besides the event loop, the store's one"
        f" reader connection that every read shares, is busy {main.busiest_worker:.0%} of the"
        " time, so a slow read delays every reply queued behind it. Slowest: "
        + ", ".join(
            f"{kind} (p50 {p50s[kind]:.0f} ms, p99 {p99s[kind]:.0f} ms)" for kind in slowest
        )
        + f". The same rate without /topics: p50 {plain.p(0.5):.1f} ms, p99 {plain.p(0.99):.0f}"
        f" ms. What would close it: {'; '.join(remedies)}."
    )


def _by_kind_ms(phase: Phase, fraction: float) -> dict[str, float]:
    kinds: dict[str, list[float]] = {}
    for latency, kind in zip(phase.latencies, phase.kinds, strict=True):
        kinds.setdefault(kind, []).append(latency)
    return {kind: percentile(samples, fraction) * 1000 for kind, samples in kinds.items()}
