"""The Bot API over aiohttp: the request object the bot's sends and replies go through.

Why not PTB's own `HTTPXRequest`: with Telegram's limits lifted (a paid broadcast
may send up to 1,000 messages a second) the outbox sender was CPU-bound at about
830 msg/s, and about 70% of that CPU went to httpx and httpcore building, sending
and parsing each request. aiohttp's client does the same work with a C HTTP parser
and far less per-request machinery; through the same sender it reaches about twice
the rate (the "sender ceiling" rows of BENCHMARKS.md measure both clients side by
side, bench/delivery.py).

httpx stays where it is still the right tool:

* getUpdates (PTB's separate request object for long polling, left to the
  ApplicationBuilder): one request at a time that mostly waits, so there is no
  throughput to gain, and PTB's own client has the long-poll timeout handling
  PTB tests;
* feed fetching (`bot/ingest/fetch.py`): its transport checks every address a
  feed resolves to and bounds what a body may inflate to, which httpx's
  transport layer makes a small, testable piece.

The `do_request` contract is PTB's: answer ``(status, body)`` for any HTTP
answer, raise `TimedOut` when a timeout expires and `NetworkError` for any other
transport failure (a refused connection, a dropped one), so the rate limiter and
the sender treat both clients' failures alike.

Timeouts. PTB passes four per call (or `DEFAULT_NONE`: the ones given here);
aiohttp has other knobs, so they map as:

* read → ``sock_read``: the longest silence while the answer arrives (aiohttp
  starts it once the request is written, as httpx does);
* connect → ``sock_connect``;
* pool + connect → ``connect``: aiohttp counts the wait for a free pooled
  connection and the connection's set-up as one phase;
* write → aiohttp has no timeout per write, so the whole request gets a
  deadline of pool + connect + write + read when all four are finite.

Uploads (a ``/stats`` chart) use `media_write_timeout` as their write timeout,
as PTB's client does. Bodies without files go as JSON, which the Bot API accepts
for every method but uploads; uploads go as ``multipart/form-data``.

JSON both ways through orjson, as PTB's `RequestData` and `parse_json_payload`
invite: the body is the request's native values (`RequestData.parameters`) encoded
once, instead of each nested object (a keyboard, the link preview options) encoded
to a string by `json_parameters` and the whole encoded again, and the answer is
parsed from its bytes. At the sender's ceiling the standard library's two
encodings and its parse of each answer (a sent message and every entity of it)
were about a sixth of the bot's CPU per message. Whatever orjson refuses (an
integer past 64 bits to encode, an answer that is not UTF-8 or not JSON) goes the
standard library's and PTB's way. orjson reads an integer past 64 bits as a float,
where the standard library keeps it whole: the Bot API's integers fit in 52 bits.
"""

from __future__ import annotations

import json
from typing import Any, Final

import aiohttp
import orjson
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]

NOT_SENT: Final = (
    "Timed out waiting for a connection to the Bot API (every pooled connection busy, or"
    " the server not answering): the request was *not* sent"
)


def _deadline(*phases: float | None) -> float | None:
    """The whole request's deadline: the sum of its phases, if each is bounded."""
    if any(phase is None for phase in phases):
        return None
    return sum(phase for phase in phases if phase is not None)


class AiohttpRequest(BaseRequest):
    """`telegram.request.BaseRequest` on an `aiohttp.ClientSession` (HTTP/1.1, keep-alive).

    The arguments and their defaults are those of PTB's `HTTPXRequest` as the
    ApplicationBuilder makes it for the bot's requests, but for the pool: up to
    `connection_pool_size` connections at once, kept alive between requests,
    384 so that a paid broadcast's and the free budget's most in flight
    (`bot.delivery.sender`) leave room for replies.
    """

    __slots__ = (
        "_connect_timeout",
        "_default_timeout",
        "_media_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 384,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        # Built once: nearly every request uses the defaults.
        self._default_timeout = self._timeout(
            read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        self._media_timeout = self._timeout(
            read_timeout, media_write_timeout, connect_timeout, pool_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """See `BaseRequest.read_timeout`."""
        return self._read_timeout

    @staticmethod
    def _timeout(
        read: float | None, write: float | None, connect: float | None, pool: float | None
    ) -> aiohttp.ClientTimeout:
        waiting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(
            total=_deadline(pool, connect, write, read),
            connect=waiting,
            sock_connect=connect,
            sock_read=read,
        )

    async def initialize(self) -> None:
        """Open the session (in the running event loop, where aiohttp wants it)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0),
                timeout=self._default_timeout,
                headers={"User-Agent": self.USER_AGENT},
                # The Bot API sets no cookies: skip the jar's work on every answer.
                cookie_jar=aiohttp.DummyCookieJar(),
                raise_for_status=False,
            )

    async def shutdown(self) -> None:
        """Close the session and its pooled connections."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    @property
    def closed(self) -> bool:
        """Whether requests would fail for want of an open session."""
        return self._session is None or self._session.closed

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See `BaseRequest.do_request`."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        timeout = self._call_timeout(
            files, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        body: aiohttp.FormData | aiohttp.Payload | None = None
        if request_data is not None:
            if files:
                body = _multipart(request_data)
            else:
                # A payload that names its type: no headers to merge, no type to look up.
                body = aiohttp.BytesPayload(
                    _json_body(request_data.parameters), content_type="application/json"
                )
        try:
            async with session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise TimedOut(NOT_SENT) from exc
        except TimeoutError as exc:  # aiohttp's own timeouts derive from it too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            # The class name says what failed when the message is empty.
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """See `BaseRequest.parse_json_payload`: the same answer, parsed by orjson; what
        it refuses goes to PTB's own parser, which replaces bytes that are not UTF-8 and
        reports a body that is not JSON."""
        try:
            answer: dict[str, Any] = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return BaseRequest.parse_json_payload(payload)
        return answer

    def _call_timeout(
        self, files: bool, read: object, write: object, connect: object, pool: object
    ) -> aiohttp.ClientTimeout:
        """The call's timeouts: each one given replaces the default (None: no limit)."""
        if _unset(read) and _unset(write) and _unset(connect) and _unset(pool):
            return self._media_timeout if files else self._default_timeout
        return self._timeout(
            self._read_timeout if _unset(read) else _seconds(read),
            (self._media_write_timeout if files else self._write_timeout)
            if _unset(write)
            else _seconds(write),
            self._connect_timeout if _unset(connect) else _seconds(connect),
            self._pool_timeout if _unset(pool) else _seconds(pool),
        )


_DEFAULT_VALUE: Final = type(BaseRequest.DEFAULT_NONE)


def _json_body(parameters: dict[str, Any]) -> bytes:
    """The parameters as a JSON document (the standard library's for what orjson cannot
    encode, such as an integer past 64 bits)."""
    try:
        return orjson.dumps(parameters)
    except orjson.JSONEncodeError:
        return json.dumps(parameters).encode()


def _unset(value: object) -> bool:
    """Not given for this call (PTB's `DEFAULT_NONE`, or another of its default markers)."""
    return isinstance(value, _DEFAULT_VALUE)


def _seconds(value: object) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    raise TypeError(f"a timeout is a number of seconds or None, not {value!r}")


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """The parameters as text parts and each file as a part of its own."""
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (file_name, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=file_name, content_type=mime_type)
    return form
