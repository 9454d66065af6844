"""Idle memory: the bot process at rest on a large archive, next to the seed database.

Each bot is `python -m bot run` (BOT_TOKEN, TELEGRAM_BASE_URL and
DATABASE_PATH in its environment) polling its own emulator process, on a
copy of the search benchmark's cached archive and, as the reference, on a
new database that the bot seeds with the bundled articles. Both run at the
same time; each is measured once it polls, has its jobs installed and its
resident set size (VmRSS, /proc) has stopped moving. The archive lives on
disk and SQLite keeps a bounded page cache, so idle memory should not grow
with the archive: the ratio says whether it does. The goal is absolute as well:
a bot polling on a million articles in at most 60 MB.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench import Options, say
from bench.latency import ROOT, bot_process, emulator_process, memory_kib, scratch_copy
from bench.report import Row, Target
from bench.search import database
from bot.config import DATA_DIR
from bot.telegram.jobs import FIRST_DELAY

SEED_ARTICLES = (
    sum(
        1 for block in (DATA_DIR / "articles.txt").read_text("utf-8").split("\n\n") if block.strip()
    )
    // 2
)
RATIO_TARGET = Target("<=", 1.25)
TARGET = Target("<=", 60, "MB")
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


# What the start-up imports cost: most of an idle bot. Each rung is a fresh interpreter
# importing one thing more than the rung before, so the steps add up to the whole.
STARTUP = "import bot.__main__, bot.telegram.run"  # what `python -m bot run` imports
CHART = "import matplotlib.backends.backend_agg, matplotlib.figure"  # bot/admin/chart.py
AIOHTTP_RUNG = ("aiohttp", "import telegram.ext, bot.config, aiohttp")


def ladder(loaded: list[str]) -> list[tuple[str, str]]:
    """The rungs, aiohttp among them only when the start-up imports include it."""
    return [
        ("the interpreter", "pass"),
        ("PTB (telegram.ext; httpx with it)", "import telegram.ext"),
        ("the settings (pydantic-settings)", "import telegram.ext, bot.config"),
        *([AIOHTTP_RUNG] if "aiohttp" in loaded else []),
        ("the rest of python -m bot run's imports", STARTUP),
        ("matplotlib, on the first /stats chart", f"{STARTUP}\n{CHART}"),
    ]


RSS_PROBE = "import re; print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read())[1])"
# Heavy packages an idle bot should load only if it uses them.
HEAVY = (
    "matplotlib",
    "numpy",
    "babel",
    "feedparser",
    "bot.ingest.pipeline",
    "Stemmer",
    "aiohttp",
    "httpx",
    "bot.emulator",
)


async def _python(code: str) -> str:
    """The standard output of a fresh interpreter running `code` ('' if it failed)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    return out.decode().strip() if process.returncode == 0 else ""


async def import_rss(statement: str) -> int:
    """RSS in KiB of a fresh interpreter after `statement` (0 where /proc is missing)."""
    text = await _python(f"{statement}\n{RSS_PROBE}")
    return int(text) if text.isdigit() else 0


async def loaded_at_startup() -> list[str]:
    """Which of `HEAVY` a fresh interpreter holds after `python -m bot run`'s imports."""
    probe = f"import sys\n{STARTUP}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    return (await _python(probe)).split()


def _steps(rungs: list[tuple[str, int]]) -> list[tuple[str, float, float]]:
    """(label, MB with it, MB it adds over the rung before)."""
    steps, before = [], 0.0
    for label, kib in rungs:
        steps.append((label, kib / 1024, kib / 1024 - before))
        before = kib / 1024
    return steps


def _note(rss_mb: float, steps: list[tuple[str, float, float]], loaded: list[str]) -> str:
    """Why the idle process is over the goal, from what was measured."""
    *imports, _chart = steps
    text = (
        f"{rss_mb:.1f} MB against {TARGET.bound:g} MB. The imports are most of it:"
        f" {imports[-1][1]:.1f} MB in a fresh interpreter that only imports what"
        " python -m bot run does ("
        + ", ".join(f"{label} {added:.1f}" for label, _, added in imports)
        + " MB); the rest is the running bot's clients, database connections and caches."
    )
    if "aiohttp" in loaded:
        text += (
            " What would close it: aiohttp is imported at start-up for the Bot API client"
            " (bot/telegram/request.py), beside the httpx that PTB imports anyway; loading it"
            " only when the settings need its throughput (paid broadcasts, a send rate above"
            " what httpx sustains) would leave a default bot without it."
        )
    return text


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
    loaded = await loaded_at_startup()
    rungs = ladder(loaded)
    sizes = [await import_rss(statement) for _, statement in rungs]  # one at a time: RSS
    steps = _steps([(label, kib) for (label, _), kib in zip(rungs, sizes, strict=True)])
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
            "RSS of a fresh interpreter importing one thing more at each line:",
            *(
                f"  {'+ ' if i else ''}{label:<{46 if not i else 44}} {mb:>6.1f} MB  (+{added:.1f})"
                for i, (label, mb, added) in enumerate(steps)
            ),
            "Imported by python -m bot run before it polls: "
            + (", ".join(loaded) or "none")
            + f"; of {', '.join(HEAVY)}, the others load on first use.",
        ]
    )
    row = Row(
        f"idle memory (RSS), bot polling, {n} articles",
        large.rss_kib / 1024,
        "MB",
        reference=f"the same on the {SEED_ARTICLES}-article seed database",
        reference_value=seed.rss_kib / 1024,
        target=TARGET,
        ratio_target=RATIO_TARGET,
        detail=detail,
    )
    if row.target is not None and not row.target.met(row.value):
        row = replace(row, note=_note(row.value, steps, loaded))
    return [row]
