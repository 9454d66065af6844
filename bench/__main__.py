"""`python -m bench [--quick] [--only search,ingest] [--articles N]`.

Runs the chosen benchmarks, prints one table and rewrites BENCHMARKS.md.
A benchmark is an entry in `BENCHMARKS`: a name and an `async run(options)`
returning rows, so adding one touches nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    CACHE_DIR,
    Options,
    delivery,
    digests,
    fanout,
    ingest,
    latency,
    machine,
    memory,
    operating,
    pairing,
    reading,
    report,
    say,
    scaling,
    search,
)

Benchmark = Callable[[Options], Awaitable[list[report.Row]]]

BENCHMARKS: dict[str, Benchmark] = {
    "search": search.run,
    "ingest": ingest.run,
    "latency": latency.run,
    "delivery": delivery.run,
    "fanout": fanout.run,
    "digests": digests.run,
    "memory": memory.run,
    "reading": reading.run,
    "operating": operating.run,
    "pairing": pairing.run,
    "scaling": scaling.run,
}

ROOT = Path(__file__).resolve().parent.parent
FULL_ARTICLES = 1_000_000
QUICK_ARTICLES = 100_000


def parse_args(argv: Sequence[str]) -> tuple[Options, list[str], Path]:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the benchmarks, print one table and rewrite BENCHMARKS.md.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, shorter runs (under 2 minutes)"
    )
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--articles", type=int, help="archive size (search, latency, digests, memory)"
    )
    parser.add_argument("--rounds", type=int, help="timed repetitions of each search query")
    parser.add_argument("--ingest-entries", type=int, help="entries in the ingested RSS document")
    parser.add_argument("--ingest-runs", type=int, help="timed runs of the ingest benchmark")
    parser.add_argument("--latency-seconds", type=float, help="length of the 30 updates/s run")
    parser.add_argument("--latency-step-seconds", type=float, help="length of each rate step")
    parser.add_argument("--latency-users", type=int, help="distinct users sending updates")
    parser.add_argument(
        "--delivery-messages", type=int, help="messages delivered under Telegram's limits"
    )
    parser.add_argument(
        "--ceiling-messages", type=int, help="messages delivered with the limits lifted"
    )
    parser.add_argument(
        "--fanout-subscribers",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        help="comma-separated instant subscriber counts, one fan-out each",
    )
    parser.add_argument("--digest-chats", type=int, help="due chats for dispatch_due")
    parser.add_argument("--digest-articles", type=int, help="new articles for dispatch_due")
    parser.add_argument(
        "--digest-large-chats", type=int, help="due chats for the large dispatch_due run"
    )
    parser.add_argument(
        "--digest-large-articles", type=int, help="new articles for the large dispatch_due run"
    )
    parser.add_argument("--idle-seconds", type=float, help="longest wait for an idle bot")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help=argparse.SUPPRESS)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "BENCHMARKS.md", help="report file to rewrite"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in only if name not in BENCHMARKS]
    if unknown or not only:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    quick = args.quick
    options = Options(
        articles=args.articles or (QUICK_ARTICLES if quick else FULL_ARTICLES),
        quick=quick,
        rounds=args.rounds or (10 if quick else 30),
        ingest_entries=args.ingest_entries or (1_500 if quick else 5_000),
        ingest_runs=args.ingest_runs or (2 if quick else 3),
        latency_seconds=args.latency_seconds or (3.0 if quick else 30.0),
        latency_step_seconds=args.latency_step_seconds or (1.0 if quick else 8.0),
        latency_users=args.latency_users or (400 if quick else 1_000),
        delivery_messages=args.delivery_messages or (90 if quick else 10_000),
        ceiling_messages=args.ceiling_messages or (1_000 if quick else 10_000),
        fanout_subscribers=args.fanout_subscribers or ((90,) if quick else (1_500, 10_000)),
        digest_chats=args.digest_chats or (5_000 if quick else 100_000),
        digest_articles=args.digest_articles or 1_000,
        digest_large_chats=args.digest_large_chats or (10_000 if quick else 1_000_000),
        digest_large_articles=args.digest_large_articles or 100,
        idle_seconds=args.idle_seconds or (4.0 if quick else 20.0),
        cache_dir=args.cache_dir,
        verbose=not args.quiet,
    )
    return options, only, args.output


async def collect(options: Options, only: Sequence[str]) -> list[report.Row]:
    rows: list[report.Row] = []
    for name in only:
        say(options, f"== {name}")
        started = time.perf_counter()
        rows += await BENCHMARKS[name](options)
        say(options, f"== {name}: {time.perf_counter() - started:.0f} s")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    options, only, output = parse_args(arguments)
    about = machine.describe()  # before the work, so the load average is the background's
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = asyncio.run(collect(options, only))
    print(report.text_table(rows))
    command = shlex.join(["python", "-m", "bench", *arguments])
    report.write(output, rows, machine=about, command=command, date=date)
    say(options, f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
