"""A round-robin proxy in front of bots in webhook mode: `python -m bench.proxy PORT…`.

Several replicas of the bot behind one webhook URL, as an operator runs them
behind a load balancer: each update Telegram (here the emulator) POSTs goes to
the next replica in turn, headers and body as they came. A replica that does not
answer (killed, restarting) is passed over for the next, as a balancer's passive
health check does, so an update is refused only when no replica takes it, and
the emulator then retries it as Telegram would.

It runs in a process of its own, so neither the load generator's event loop nor
a bot's carries its work. It prints its base URL on stdout once it listens;
`GET /_proxy/stats` gives how many updates each replica took.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
from collections import Counter

import aiohttp
from aiohttp import web

FORWARDED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")
TIMEOUT = aiohttp.ClientTimeout(total=10, connect=2)


class Proxy:
    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.next = 0
        self.taken: Counter[int] = Counter()
        self.passed_over: Counter[int] = Counter()
        self.session: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        assert self.session is not None
        body = await request.read()
        headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
        for _ in range(len(self.ports)):
            port = self.ports[self.next % len(self.ports)]
            self.next += 1
            url = f"http://127.0.0.1:{port}{request.path_qs}"
            try:
                async with self.session.post(url, data=body, headers=headers) as answer:
                    text = await answer.read()
                    self.taken[port] += 1
                    return web.Response(status=answer.status, body=text)
            except (aiohttp.ClientError, OSError, TimeoutError):
                self.passed_over[port] += 1
        return web.Response(status=502)

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "taken": {str(port): self.taken[port] for port in self.ports},
                "passed_over": {str(port): self.passed_over[port] for port in self.ports},
            }
        )


async def serve(ports: list[int]) -> None:
    proxy = Proxy(ports)
    app = web.Application()
    app.router.add_get("/_proxy/stats", proxy.stats)
    app.router.add_post("/{tail:.*}", proxy.forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    await web.SockSite(runner, listening).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=TIMEOUT, connector=connector) as session:
        proxy.session = session
        print(f"http://127.0.0.1:{port}", flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy", description=__doc__)
    parser.add_argument("ports", type=int, nargs="+", help="the replicas' webhook ports")
    asyncio.run(serve(parser.parse_args().ports))


if __name__ == "__main__":
    main()
