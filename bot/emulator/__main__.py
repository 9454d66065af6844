"""Run the emulator on its own: `python -m bot.emulator --port 8081`.

It prints its base URL (for `base_url`) on stdout and serves until interrupted;
another process drives it through the control API under `/_emulator/`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from .emulator import DEFAULT_TOKEN, Emulator
from .faults import FaultPlan
from .limits import FloodLimits


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default="digest_test_bot")
    parser.add_argument("--limits", action="store_true", help="enforce Telegram's flood limits")
    parser.add_argument("--slack", type=float, default=FloodLimits().slack)
    parser.add_argument("--no-privacy", action="store_true", help="bot sees all group messages")
    parser.add_argument("--seed", type=int, default=0, help="seed for random faults")
    parser.add_argument("--rate-429", type=float, default=0.0)
    parser.add_argument("--rate-5xx", type=float, default=0.0)
    parser.add_argument("--rate-timeout", type=float, default=0.0)
    parser.add_argument("--timeout-delay", type=float, default=FaultPlan().timeout_delay)
    parser.add_argument("--rate-slow", type=float, default=0.0)
    parser.add_argument("--slow-latency", type=float, default=FaultPlan().slow_latency)
    parser.add_argument("--log-limit", type=int, default=50_000, help="request log size")
    parser.add_argument("--history", type=int, default=None, help="messages kept per chat")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    emulator = Emulator(
        token=args.token,
        bot_username=args.bot_username,
        host=args.host,
        port=args.port,
        enforce_limits=args.limits,
        limits=FloodLimits(slack=args.slack),
        privacy_mode=not args.no_privacy,
        request_log_limit=args.log_limit,
        history_limit=args.history,
        faults=FaultPlan(
            seed=args.seed,
            rate_429=args.rate_429,
            rate_5xx=args.rate_5xx,
            rate_timeout=args.rate_timeout,
            timeout_delay=args.timeout_delay,
            rate_slow=args.rate_slow,
            slow_latency=args.slow_latency,
        ),
    )
    await emulator.start()
    print(emulator.base_url, flush=True)
    print(
        f"file url {emulator.base_file_url}, control API {emulator.url}/_emulator, "
        f"token {emulator.token}",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
