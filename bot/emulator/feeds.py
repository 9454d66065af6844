"""Web feeds served beside the Bot API under `/feeds/<name>`.

The bot fetches feeds from other people's servers, and some of those servers
are hostile. This is one such server, for the tests, the local chat and the
benchmarks: it serves ordinary feeds, and plays the attackers a public bot
meets — a redirect into the private network, a gzip bomb, a feed whose
articles are megabytes long (any body can be published). Every request is
counted, so a test can tell that a refused address was never asked.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

RSS: str = "application/rss+xml; charset=utf-8"
_ZEROS = bytes(1 << 20)


@dataclass(frozen=True, slots=True)
class FeedRoute:
    body: bytes = b""
    content_type: str = RSS
    status: int = 200
    location: str | None = None
    content_encoding: str | None = None


class FeedSite:
    """What `/feeds/<name>` answers; names not published get a 404."""

    def __init__(self) -> None:
        self.routes: dict[str, FeedRoute] = {}
        self.hits: Counter[str] = Counter()

    def publish(
        self,
        name: str,
        body: bytes | str,
        *,
        content_type: str = RSS,
        content_encoding: str | None = None,
    ) -> None:
        """Serve `body` as it is; with `content_encoding`, `body` must already be encoded."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[name] = FeedRoute(
            data, content_type=content_type, content_encoding=content_encoding
        )

    def redirect(self, name: str, location: str, *, status: int = 302) -> None:
        """Answer with a redirect to `location` (absolute, or relative to this URL)."""
        self.routes[name] = FeedRoute(status=status, location=location)

    def gzip_bomb(self, name: str, *, inflated: int) -> int:
        """Serve `inflated` zero bytes gzip-compressed (about 1,000 to 1); returns
        the size on the wire. Compressed piecewise, so the bomb never exists
        inflated here either."""
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        parts: list[bytes] = []
        left = inflated
        while left > 0:
            parts.append(packer.compress(_ZEROS[: min(left, len(_ZEROS))]))
            left -= len(_ZEROS)
        parts.append(packer.flush())
        body = b"".join(parts)
        self.publish(name, body, content_encoding="gzip")
        return len(body)

    def clear(self) -> None:
        self.routes.clear()
        self.hits.clear()

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.hits[name] += 1
        route = self.routes.get(name)
        if route is None:
            return web.Response(status=404, text="no such feed")
        headers = {"Content-Type": route.content_type}
        if route.location is not None:
            headers["Location"] = route.location
        if route.content_encoding is not None:
            headers["Content-Encoding"] = route.content_encoding
        return web.Response(status=route.status, body=route.body, headers=headers)


def add_feed_routes(app: web.Application, site: FeedSite) -> None:
    app.router.add_get("/feeds/{name:.+}", site.handle)
