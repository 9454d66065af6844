"""`python -m bench [--quick] [--only search,ingest] [--articles N]`.

Runs the chosen benchmarks, prints one table and rewrites BENCHMARKS.md.
A benchmark is an entry in `BENCHMARKS`: a name and an `async run(options)`
returning rows, so adding one (command latency, delivery rate, digest
composition, idle memory) touches nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import CACHE_DIR, Options, ingest, machine, report, say, search

Benchmark = Callable[[Options], Awaitable[list[report.Row]]]

BENCHMARKS: dict[str, Benchmark] = {
    "search": search.run,
    "ingest": ingest.run,
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
        "--quick", action="store_true", help="100k articles and fewer rounds (about 2 minutes)"
    )
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--articles", type=int, help="archive size for the search benchmark")
    parser.add_argument("--rounds", type=int, help="timed repetitions of each search query")
    parser.add_argument("--ingest-entries", type=int, help="entries in the ingested RSS document")
    parser.add_argument("--ingest-runs", type=int, help="timed runs of the ingest benchmark")
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
    options = Options(
        articles=args.articles or (QUICK_ARTICLES if args.quick else FULL_ARTICLES),
        quick=args.quick,
        rounds=args.rounds or (10 if args.quick else 30),
        ingest_entries=args.ingest_entries or 5_000,
        ingest_runs=args.ingest_runs or (2 if args.quick else 3),
        cache_dir=args.cache_dir,
        verbose=not args.quiet,
    )
    return options, only, args.output


async def collect(options: Options, only: Sequence[str]) -> list[report.Row]:
    rows: list[report.Row] = []
    for name in only:
        say(options, f"== {name}")
        rows += await BENCHMARKS[name](options)
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
