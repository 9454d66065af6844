"""A real HTTP server on 127.0.0.1 serving the fixtures and misbehaving on request."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler

FIXTURES = Path(__file__).parent / "fixtures"
HUGE_BYTES = 50_000_000
CHUNK = b"<!-- padding -->" * 4096  # 64 KiB

# What a sloppy but typical server says about each fixture.
CONTENT_TYPES = {
    "rss20.xml": "application/rss+xml; charset=utf-8",
    "rss10.rdf": "application/rdf+xml",
    "rss091.xml": "text/xml",
    "atom10.xml": "application/atom+xml",
    "media.xml": "application/rss+xml; charset=utf-8",
    "es_mx.xml": "application/rss+xml; charset=UTF-8",
    "latin1.xml": "text/xml",
    "wrong_encoding.xml": "application/xml; charset=utf-8",
    "malformed.xml": "application/rss+xml",
    "page.html": "text/html; charset=utf-8",
    "data.json": "application/json",
    "garbage.bin": "application/octet-stream",
}


@dataclass
class FeedServer:
    base: str
    sent: dict[str, int] = field(default_factory=dict)  # body bytes written per route
    generated: dict[str, bytes] = field(default_factory=dict)  # feeds a test makes: /generated/…
    requests: list[web.Request] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def _app(server: FeedServer) -> web.Application:
    routes = web.RouteTableDef()
    bomb = gzip.compress(b"\0" * 20_000_000, compresslevel=9)

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        server.requests.append(request)
        return await handler(request)

    @routes.get("/feeds/{name}")
    async def feed(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = FIXTURES / name
        if name not in CONTENT_TYPES or not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=path.read_bytes(), headers={"Content-Type": CONTENT_TYPES[name]})

    @routes.get("/generated/{name}")
    async def generated(request: web.Request) -> web.Response:
        body = server.generated.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml"})

    @routes.get("/huge")
    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        if request.query.get("declared"):
            response.content_length = HUGE_BYTES
        await response.prepare(request)
        server.sent["huge"] = 0
        try:
            while server.sent["huge"] < HUGE_BYTES:
                await response.write(CHUNK)
                server.sent["huge"] += len(CHUNK)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, which is the point
        return response

    @routes.get("/bomb")
    async def gzip_bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb,
            headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
        )

    @routes.get("/trickle")
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        try:
            for _ in range(200):  # ten seconds at most, far beyond any test's timeout
                await response.write(b" ")
                await asyncio.sleep(0.05)
        except (ConnectionError, RuntimeError):
            pass
        return response

    @routes.get("/hang")
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.Response(text="too late")

    @routes.get("/loop/{step}")
    async def loop(request: web.Request) -> web.Response:
        other = "b" if request.match_info["step"] == "a" else "a"
        raise web.HTTPFound(f"/loop/{other}")

    @routes.get("/chain/{hops}")
    async def chain(request: web.Request) -> web.Response:
        hops = int(request.match_info["hops"])
        if hops == 0:
            raise web.HTTPMovedPermanently("../feeds/rss20.xml")  # relative, as many servers do
        raise web.HTTPTemporaryRedirect(f"/chain/{hops - 1}")

    @routes.get("/to-file")
    async def to_file(request: web.Request) -> web.Response:
        raise web.HTTPFound("file:///etc/passwd")

    @routes.get("/no-location")
    async def no_location(request: web.Request) -> web.Response:
        return web.Response(status=302)

    @routes.get("/conditional")
    async def conditional(request: web.Request) -> web.Response:
        etag, modified = '"v1"', "Sat, 30 Mar 2024 18:00:00 GMT"
        headers = {"ETag": etag, "Last-Modified": modified}
        if request.headers.get("If-None-Match") == etag or (
            request.headers.get("If-Modified-Since") == modified
        ):
            return web.Response(status=304, headers=headers)
        body = (FIXTURES / "rss20.xml").read_bytes()
        return web.Response(body=body, headers={**headers, "Content-Type": "application/rss+xml"})

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="nope")

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    return app


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    feed_server = FeedServer(base="")
    runner = web.AppRunner(
        _app(feed_server), shutdown_timeout=0.1, handler_cancellation=True, access_log=None
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    feed_server.base = f"http://{host}:{port}"
    try:
        yield feed_server
    finally:
        await runner.cleanup()


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    """Something listening on a port that does not speak HTTP."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/feed"
    finally:
        listener.close()
        await listener.wait_closed()
