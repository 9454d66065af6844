"""Drain an outbox in its own process, so a test can kill it mid-way.

    python tests/delivery/drain_runner.py DB BASE_URL TOKEN [--rate R ...]

Prints the outcome counts as JSON when the outbox is empty.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.delivery.limits import Limits
from bot.delivery.ratelimiter import RateLimitArgs, TelegramRateLimiter, opt_in_to_timedelta
from bot.delivery.sender import drain
from bot.store.db import Database


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--rate", type=float, default=28.0)
    parser.add_argument("--private-interval", type=float, default=1.05)
    parser.add_argument("--group-interval", type=float, default=3.15)
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    limits = Limits(
        rate_per_second=args.rate,
        private_interval=args.private_interval,
        group_interval=args.group_interval,
    )
    db = await Database.open(args.db)
    opt_in_to_timedelta()  # as the bot's own Application does
    bot: ExtBot[RateLimitArgs] = ExtBot(
        args.token,
        base_url=args.base_url,
        request=HTTPXRequest(connection_pool_size=64),
        rate_limiter=TelegramRateLimiter(limits),
    )
    try:
        async with bot:
            print("started", flush=True)
            counts = await drain(db, bot, backoff_base=0.05, backoff_cap=0.5)
    finally:
        await db.close()
    print(json.dumps(dict(counts)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
