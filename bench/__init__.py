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
    latency_rate: float = 30.0  # updates/s of the headline latency run
    latency_seconds: float = 30.0  # its duration
    latency_step_seconds: float = 8.0  # each step of the search for the highest rate
    latency_users: int = 1_000  # distinct users the updates come from
    delivery_messages: int = 10_000  # messages delivered under Telegram's limits
    ceiling_messages: int = 10_000  # messages delivered with the limits lifted
    digest_chats: int = 100_000
    digest_articles: int = 1_000
    digest_large_chats: int = 1_000_000  # a large publication's morning digest ...
    digest_large_articles: int = 100  # ... over a night's articles
    fanout_subscribers: tuple[int, ...] = (1_500, 10_000)  # instant subscribers, a run each
    idle_seconds: float = 20.0  # longest wait for the idle bot's memory to settle
    cache_dir: Path = CACHE_DIR
    verbose: bool = True


def say(options: Options, message: str) -> None:
    """Progress on stderr, so stdout stays the table."""
    if options.verbose:
        print(message, file=sys.stderr, flush=True)
