"""Speed of the bot's hot paths on realistic data, measured and reported.

Run `python -m bench --help`. Each benchmark module exposes
`async def run(options: Options) -> list[Row]`; `bench.__main__` collects the
rows into one table (see `bench.report`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

CACHE_DIR = Path(__file__).resolve().parent / ".cache"


@dataclass(frozen=True)
class Options:
    """What every benchmark may read: sizes, repetitions and where to cache."""

    articles: int = 1_000_000
    quick: bool = False
    rounds: int = 30  # timed repetitions of each search query
    ingest_entries: int = 5_000
    ingest_runs: int = 3
    cache_dir: Path = CACHE_DIR
    verbose: bool = True


def say(options: Options, message: str) -> None:
    """Progress on stderr, so stdout stays the table."""
    if options.verbose:
        print(message, file=sys.stderr, flush=True)
