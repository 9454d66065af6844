"""Fetching feeds over HTTP(S) with the limits a poller of other people's servers needs.

`fetch` follows redirects itself so that every hop is checked (no `file:` or
other schemes; no private address, see `bot.ingest.addresses`), bounds the
whole exchange by one deadline (a server trickling bytes cannot hold a poll
forever), and stops reading past a byte cap, counted as the body is inflated
so that a small gzip bomb never grows past the cap in memory. Failures become
`SourceError` with one short line a person can act on.

`load_source` is the convenience on top: a URL or a local file in, entries out.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Final

import httpx

from bot.ingest.addresses import AddressPolicy, GuardedTransport
from bot.ingest.entry import ParsedFeed, SourceError
from bot.ingest.listing import MAX_FILE_BYTES, read_listing
from bot.ingest.parse import describe_size, parse_feed
from bot.numbers import whole_number

__all__ = [
    "ACCEPT",
    "LISTING_SUFFIXES",
    "USER_AGENT",
    "FetchResult",
    "fetch",
    "load_source",
    "make_client",
]


def _version() -> str:
    try:
        return metadata.version("digestbot")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT: Final = f"digestbot/{_version()} (RSS/Atom reader; httpx/{httpx.__version__})"
ACCEPT: Final = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
# Only what `_Inflater` decodes with a bounded output: brotli and zstd are left
# out even where httpx could decode them, since it would do so unbounded.
ACCEPT_ENCODING: Final = "gzip, deflate"
LISTING_SUFFIXES: Final = (".txt",)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_WEB_SCHEMES = frozenset({"http", "https"})
# Two letters at least: "C:" is a Windows drive, not a scheme.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")


@dataclass(frozen=True)
class FetchResult:
    """What one fetch produced; `body` is empty when `not_modified`."""

    url: str  # after redirects: what relative links resolve against
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str | None
    not_modified: bool


def make_client(allowed_hosts: Iterable[str] = ()) -> httpx.AsyncClient:
    """The client feeds are fetched with; share one for the whole process.

    It connects to public addresses only, and to the private sources named in
    `allowed_hosts` (FEED_ALLOWED_HOSTS). Proxy variables from the environment
    are not used: through a proxy, the address connected to would be the
    proxy's choice, not one this process checked.
    """
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
    return httpx.AsyncClient(
        transport=GuardedTransport(AddressPolicy.allowing(allowed_hosts), limits=limits),
        trust_env=False,
        follow_redirects=False,  # fetch() follows them itself, checking each hop
        timeout=httpx.Timeout(20.0, connect=10.0),
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 20.0,  # noqa: ASYNC109 - the contract: one deadline for the whole fetch
    max_bytes: int = 10_000_000,
    max_redirects: int = 5,
) -> FetchResult:
    """GET `url`, conditionally when `etag`/`last_modified` come from the last fetch.

    Raises SourceError for anything but a 2xx or 304 answer within `timeout`
    seconds (all redirects and the whole body included) and `max_bytes`.
    `client` comes from `make_client`: the private-address check lives in its
    transport, so it holds for every hop (PrivateAddressError, a SourceError).
    """
    target = _web_url(url.strip())
    hop = _Hop(target)
    try:
        async with asyncio.timeout(timeout):
            return await _follow(
                client,
                hop,
                headers=_request_headers(client, etag, last_modified),
                request_timeout=timeout,
                max_bytes=max_bytes,
                max_redirects=max_redirects,
            )
    except TimeoutError:
        raise SourceError(f"{hop.host} did not answer within {timeout:g} s") from None


async def load_source(
    client: httpx.AsyncClient,
    location: str,
    *,
    timeout: float = 20.0,  # noqa: ASYNC109 - handed to fetch()
    max_bytes: int = 10_000_000,
    max_redirects: int = 5,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> ParsedFeed:
    """Entries from a feed URL, a local feed file, or a local `.txt` listing.

    Anything with a URL scheme goes through `fetch` (so `file:` URLs are
    refused like any other non-web scheme); anything else is a local path.
    Local paths are trusted configuration, never text typed by chat users:
    they are read whole, up to `max_file_bytes`, where a URL's body is capped
    at `max_bytes` and its first entries. Parsing runs in a worker thread: a
    large feed takes a noticeable moment.
    """
    if _is_url(location):
        result = await fetch(
            client, location, timeout=timeout, max_bytes=max_bytes, max_redirects=max_redirects
        )
        return await parse_fetched(result, max_bytes=max_bytes)
    return await asyncio.to_thread(_load_file, Path(location), max_file_bytes)


async def parse_fetched(result: FetchResult, *, max_bytes: int) -> ParsedFeed:
    """The feed in a fetched body, parsed in a worker thread: a large feed takes
    a noticeable moment, which the event loop must not wait out."""
    return await asyncio.to_thread(
        parse_feed,
        result.body,
        url=result.url,
        content_type=result.content_type,
        max_bytes=max_bytes,
    )


class _Hop:
    """The URL being fetched right now, so errors name the host that failed."""

    def __init__(self, url: httpx.URL) -> None:
        self.url = url

    @property
    def host(self) -> str:
        return _host(self.url)


async def _follow(
    client: httpx.AsyncClient,
    hop: _Hop,
    *,
    headers: dict[str, str],
    request_timeout: float,
    max_bytes: int,
    max_redirects: int,
) -> FetchResult:
    for _ in range(max_redirects + 1):
        try:
            request = client.build_request("GET", hop.url, headers=headers, timeout=request_timeout)
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise SourceError(_reason(exc, hop.host, request_timeout)) from exc
        try:
            status = response.status_code
            if status in _REDIRECTS:
                hop.url = _redirect_target(response, hop)
                continue
            if status == 304:
                return FetchResult(
                    url=str(hop.url),
                    status=status,
                    body=b"",
                    etag=response.headers.get("etag") or headers.get("If-None-Match"),
                    last_modified=response.headers.get("last-modified")
                    or headers.get("If-Modified-Since"),
                    content_type=response.headers.get("content-type"),
                    not_modified=True,
                )
            if not 200 <= status < 300:
                raise SourceError(f"HTTP {status} from {hop.host}")
            body = await _read_body(response, max_bytes, hop.host)
            return FetchResult(
                url=str(hop.url),
                status=status,
                body=body,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                content_type=response.headers.get("content-type"),
                not_modified=False,
            )
        except httpx.HTTPError as exc:
            raise SourceError(_reason(exc, hop.host, request_timeout)) from exc
        finally:
            await response.aclose()
    raise SourceError(f"too many redirects (more than {max_redirects}) from {hop.host}")


async def _read_body(response: httpx.Response, max_bytes: int, host: str) -> bytes:
    declared = whole_number(response.headers.get("content-length", ""))
    if declared is not None and declared > max_bytes:
        raise SourceError(f"feed is larger than {describe_size(max_bytes)}")
    too_large = SourceError(f"feed is larger than {describe_size(max_bytes)}")
    inflater = _Inflater.for_encoding(response.headers.get("content-encoding", ""), host)
    chunks: list[bytes] = []
    received = inflated = 0
    # The raw bytes are inflated here, a bounded step at a time, rather than by
    # httpx: it inflates each network chunk whole, and 64 kB of a gzip bomb
    # become 64 MB before anything could count them.
    async for raw in response.aiter_raw():
        received += len(raw)
        if received > max_bytes:
            raise too_large
        for chunk in inflater.inflate(raw):
            inflated += len(chunk)
            if inflated > max_bytes:
                raise too_large
            chunks.append(chunk)
    return b"".join(chunks)


class _Inflater:
    """Content-Encoding undone at most `STEP` bytes of output at a time."""

    STEP: Final = 64 * 1024

    def __init__(self, wbits: int | None, host: str) -> None:
        self._wbits = wbits  # None: identity
        self._host = host
        self._zlib = zlib.decompressobj(wbits) if wbits is not None else None
        self._started = False  # some input decoded: no more guessing about "deflate"
        self._finished = False  # the stream ended; whatever follows is ignored

    @classmethod
    def for_encoding(cls, header: str, host: str) -> _Inflater:
        codings = [part.strip().lower() for part in header.split(",") if part.strip()]
        codings = [coding for coding in codings if coding != "identity"]
        if not codings:
            return cls(None, host)
        if codings in (["gzip"], ["x-gzip"]):
            return cls(zlib.MAX_WBITS | 16, host)
        if codings == ["deflate"]:
            return cls(zlib.MAX_WBITS, host)
        raise SourceError(
            f"{host} sent a body in an encoding the bot does not read ({header.strip()[:40]})"
        )

    def inflate(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            if data:
                yield data
            return
        pending = bool(data)
        while pending and not self._finished:
            try:
                out = self._zlib.decompress(data, self.STEP)
            except zlib.error:
                if not self._started and self._wbits == zlib.MAX_WBITS:
                    # "deflate" is zlib-wrapped by the standard, raw from some servers.
                    self._wbits = -zlib.MAX_WBITS
                    self._zlib = zlib.decompressobj(self._wbits)
                    continue
                raise SourceError(f"{self._host} sent a body that cannot be decompressed") from None
            self._started = True
            if out:
                yield out
            if self._zlib.eof:
                data = self._zlib.unused_data
                if self._wbits == zlib.MAX_WBITS | 16 and data.startswith(b"\x1f\x8b"):
                    self._zlib = zlib.decompressobj(self._wbits)  # the next gzip member
                else:
                    self._finished = True
                pending = bool(data)
            else:
                data = self._zlib.unconsumed_tail
                # A full step may leave output waiting inside zlib with no input left.
                pending = bool(data) or len(out) == self.STEP


def _redirect_target(response: httpx.Response, hop: _Hop) -> httpx.URL:
    location = response.headers.get("location", "").strip()
    if not location:
        raise SourceError(f"HTTP {response.status_code} from {hop.host} without a new location")
    try:
        target = hop.url.join(location)
    except httpx.InvalidURL:
        raise SourceError(f"{hop.host} redirected to an invalid URL") from None
    return _web_url(target)


def _web_url(url: str | httpx.URL) -> httpx.URL:
    if isinstance(url, str):
        if url.lower().startswith("feed:"):  # legacy pseudo-scheme: feed://host/x, feed:https://...
            rest = url[5:]
            url = rest if rest.lower().startswith(("http:", "https:")) else "http:" + rest
        try:
            url = httpx.URL(url)
        except httpx.InvalidURL:
            raise SourceError("not a valid URL") from None
    if url.scheme not in _WEB_SCHEMES:
        scheme = f" (not {url.scheme}:)" if url.scheme else ""
        raise SourceError(f"only http(s) URLs can be fed{scheme}")
    if not url.host:
        raise SourceError("not a valid URL: the host name is missing")
    return url


def _request_headers(
    client: httpx.AsyncClient, etag: str | None, last_modified: str | None
) -> dict[str, str]:
    headers: dict[str, str] = {}
    # A caller's own client keeps its headers; httpx's bare defaults get ours.
    if client.headers.get("user-agent", "").startswith("python-httpx/"):
        headers["User-Agent"] = USER_AGENT
    if client.headers.get("accept", "*/*") == "*/*":
        headers["Accept"] = ACCEPT
    headers["Accept-Encoding"] = ACCEPT_ENCODING  # what _read_body can inflate, bounded
    # Validators are echoed from a previous response; a mangled one must not
    # break the request, it only costs a full download.
    if etag and _is_header_safe(etag):
        headers["If-None-Match"] = etag
    if last_modified and _is_header_safe(last_modified):
        headers["If-Modified-Since"] = last_modified
    return headers


def _is_header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _reason(exc: httpx.HTTPError, host: str, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"{host} did not answer within {timeout:g} s"
    causes = list(_causes(exc))
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return f"cannot find the server {host} (DNS lookup failed)"
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            # Set by the ssl module during a handshake, absent otherwise.
            detail = getattr(cause, "verify_message", None) or "certificate not trusted"
            return f"TLS certificate of {host} is not valid ({detail})"
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or "TLS error"
            return f"TLS handshake with {host} failed ({reason})"
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return f"{host} refused the connection"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host} ({_first_line(exc)})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{host} sent a broken HTTP response"
    if isinstance(exc, httpx.DecodingError):
        return f"{host} sent a body that cannot be decompressed"
    if isinstance(exc, httpx.NetworkError):
        return f"connection to {host} was interrupted"
    return f"cannot fetch from {host} ({_first_line(exc)})"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _host(url: httpx.URL) -> str:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.host if url.port in (None, default_port) else f"{url.host}:{url.port}"


def _is_url(location: str) -> bool:
    return _SCHEME.match(location) is not None


def _load_file(path: Path, max_bytes: int) -> ParsedFeed:
    path = path.expanduser()
    if path.suffix.lower() in LISTING_SUFFIXES:
        return ParsedFeed(
            title=None, language=None, entries=read_listing(path, max_bytes=max_bytes)
        )
    # A file: URL names the file in errors; parse_feed resolves links only against web URLs.
    return parse_feed(
        _read_file(path, max_bytes),
        url=path.resolve().as_uri(),
        max_bytes=max_bytes,
        max_entries=None,
    )


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as file:
            body = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise SourceError(f"{path.name} does not exist") from None
    except IsADirectoryError:
        raise SourceError(f"{path.name} is a folder, not a file") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:
        raise SourceError(f"{path.name} is larger than {describe_size(max_bytes)}")
    return body
