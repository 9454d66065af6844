"""Idle memory: the bot process at rest on a large archive, next to the seed database.

Each bot is `python -m bot run` (BOT_TOKEN, TELEGRAM_BASE_URL and
DATABASE_PATH in its environment) polling its own emulator process, on a
copy of the search benchmark's cached archive and, as the reference, on a
new database that the bot seeds with the bundled articles. Both run at the
same time; each is measured once it polls, has its jobs installed and its
resident set size (VmRSS, /proc) has stopped moving. The archive lives on
disk and SQLite keeps a bounded page cache, so idle memory should not grow
with the archive: the ratio says whether it does.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import Options, say
from bench.latency import ROOT, bot_process, emulator_process, memory_kib, scratch_copy
from bench.report import Row, Target
from bench.search import database
from bot.config import DATA_DIR
from bot.digest.jobs import FIRST_DELAY

SEED_ARTICLES = (
    sum(
        1 for block in (DATA_DIR / "articles.txt").read_text("utf-8").split("\n\n") if block.strip()
    )
    // 2
)
RATIO_TARGET = Target("<=", 1.25)
STABLE_FOR = 2.0  # s the RSS must stay within STABLE_KIB to count as settled
STABLE_KIB = 512
SAMPLE_EVERY = 0.25


@dataclass(frozen=True)
class Idle:
    rss_kib: int
    peak_kib: int  # VmHWM: the highest RSS during start-up
    started_s: float  # from exec to the first getUpdates
    measured_at_s: float  # from exec to the measurement
    settled: bool


async def _settle(
    pid: int, started: float, at_least: float, at_most: float, stable_for: float = STABLE_FOR
) -> Idle:
    """Sample the RSS until it has held still for `stable_for` seconds (after `at_least`
    seconds from start, so the jobs' first runs are in), or `at_most` has passed."""
    samples: list[tuple[float, int]] = []
    while True:
        now = time.monotonic() - started
        rss = memory_kib(pid).get("VmRSS", 0)
        samples.append((now, rss))
        recent = [kib for at, kib in samples if at >= now - STABLE_FOR]
        steady = samples[0][0] <= now - STABLE_FOR and max(recent) - min(recent) <= STABLE_KIB
        if (steady and now >= at_least) or now >= at_most:
            status = memory_kib(pid)
            return Idle(status.get("VmRSS", rss), status.get("VmHWM", rss), 0.0, now, steady)
        await asyncio.sleep(min(SAMPLE_EVERY, stable_for / 4))


async def idle(source: Path | None, folder: Path, options: Options) -> Idle:
    """The bot idle on a copy of `source` (None: a new database it seeds itself)."""
    folder.mkdir()  # noqa: ASYNC240 - an empty folder, before anything runs
    if source is None:
        path = folder / "seed.sqlite3"
    else:  # in a thread: the other bot is starting meanwhile
        path = await asyncio.to_thread(scratch_copy, source, folder)
    async with emulator_process(folder) as emulator:
        started = time.monotonic()
        async with bot_process(emulator, path, folder) as bot:
            polling = time.monotonic() - started
            at_least = min(options.idle_seconds, 3 * FIRST_DELAY + 1)
            found = await _settle(bot.pid, started, at_least, options.idle_seconds + 10)
    return Idle(found.rss_kib, found.peak_kib, polling, found.measured_at_s, found.settled)


# What start-up imports cost, each alone in a fresh interpreter: most of an idle bot.
IMPORTS = (
    ("the interpreter alone", "pass"),
    ("PTB (telegram.ext)", "import telegram.ext"),
    ("matplotlib, as bot/admin/chart.py imports it", "import bot.admin.chart"),
    ("the whole bot (bot.telegram.app)", "import bot.telegram.app"),
)
RSS_PROBE = "import re; print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read())[1])"


async def import_rss(statement: str) -> int:
    """RSS in KiB of a fresh interpreter after `statement` (0 where /proc is missing)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        f"{statement}\n{RSS_PROBE}",
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    text = out.decode().strip()
    return int(text) if process.returncode == 0 and text.isdigit() else 0


async def run(options: Options) -> list[Row]:
    built = await database(options)
    n = f"{built.articles:,}"
    say(options, f"two idle bots: on a copy of {built.path.name}, and on the seed articles")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        folder = Path(tmp)
        large, seed = await asyncio.gather(
            idle(built.path, folder / "archive", options), idle(None, folder / "seed", options)
        )
    say(options, f"  {large.rss_kib / 1024:.0f} MB vs {seed.rss_kib / 1024:.0f} MB")
    sizes = await asyncio.gather(*(import_rss(statement) for _, statement in IMPORTS))
    imports = [(label, kib) for (label, _), kib in zip(IMPORTS, sizes, strict=True)]
    detail = "\n".join(
        [
            f"{'database':<28} {'idle RSS MB':>12} {'peak MB':>8} {'polling after s':>16}"
            f" {'measured at s':>14}",
            *(
                f"{label:<28} {run.rss_kib / 1024:>12.1f} {run.peak_kib / 1024:>8.1f}"
                f" {run.started_s:>16.1f} {run.measured_at_s:>14.1f}"
                + ("" if run.settled else "  (still moving)")
                for label, run in ((f"{n} articles", large), (f"seed ({SEED_ARTICLES})", seed))
            ),
            "python -m bot run polling its own emulator process; RSS from /proc/<pid>/status once"
            f" it held within {STABLE_KIB} KiB for {STABLE_FOR:g} s, at least"
            f" {min(options.idle_seconds, 3 * FIRST_DELAY + 1):g} s after start (the jobs' first"
            " runs come 5, 10 and 15 s after start).",
            "RSS of a fresh interpreter after importing, for scale:",
            *(f"  {label:<46} {kib / 1024:>6.1f} MB" for label, kib in imports),
        ]
    )
    return [
        Row(
            f"idle memory (RSS), bot polling, {n} articles",
            large.rss_kib / 1024,
            "MB",
            reference=f"the same on the {SEED_ARTICLES}-article seed database",
            reference_value=seed.rss_kib / 1024,
            ratio_target=RATIO_TARGET,
            detail=detail,
        )
    ]
