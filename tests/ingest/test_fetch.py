"""fetch() against a real local server that behaves well, badly and maliciously."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from bot.config import DATA_DIR, Settings
from bot.emulator import Emulator
from bot.ingest.entry import SourceError
from bot.ingest.fetch import USER_AGENT, FetchResult, fetch, load_source, make_client
from bot.ingest.parse import parse_feed
from tests.ingest.conftest import FIXTURES, HUGE_BYTES, FeedServer


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The feed client as the bot builds it, allowing the test servers' 127.0.0.1."""
    async with make_client(settings.feed_allowed_hosts) as http:
        yield http


async def test_fetches_a_feed_with_its_validators(
    client: httpx.AsyncClient, server: FeedServer
) -> None:
    result = await fetch(client, server.url("/conditional"))

    assert result == FetchResult(
        url=server.url("/conditional"),
        status=200,
        body=(FIXTURES / "rss20.xml").read_bytes(),
        etag='"v1"',
        last_modified="Sat, 30 Mar 2024 18:00:00 GMT",
        content_type="application/rss+xml",
        not_modified=False,
    )
    request = server.requests[-1]
    assert request.headers["User-Agent"] == USER_AGENT
    assert "application/rss+xml" in request.headers["Accept"]
    assert "If-None-Match" not in request.headers


@pytest.mark.parametrize(
    ("etag", "last_modified"),
    [('"v1"', None), (None, "Sat, 30 Mar 2024 18:00:00 GMT")],
)
async def test_conditional_get_reports_not_modified(
    client: httpx.AsyncClient, server: FeedServer, etag: str | None, last_modified: str | None
) -> None:
    result = await fetch(client, server.url("/conditional"), etag=etag, last_modified=last_modified)

    assert result.not_modified
    assert result.status == 304
    assert result.body == b""
    assert result.etag == '"v1"'
    assert result.last_modified == "Sat, 30 Mar 2024 18:00:00 GMT"


async def test_a_mangled_validator_is_dropped_not_fatal(
    client: httpx.AsyncClient, server: FeedServer
) -> None:
    result = await fetch(client, server.url("/conditional"), etag='"v1"\r\nX-Evil: 1')

    assert result.status == 200
    assert "X-Evil" not in server.requests[-1].headers


async def test_a_bare_httpx_client_still_sends_our_user_agent(server: FeedServer) -> None:
    async with httpx.AsyncClient() as bare:
        await fetch(bare, server.url("/feeds/rss20.xml"))

    assert server.requests[-1].headers["User-Agent"] == USER_AGENT


async def test_follows_relative_redirects_up_to_the_limit(
    client: httpx.AsyncClient, server: FeedServer
) -> None:
    result = await fetch(client, server.url("/chain/4"), max_redirects=5)

    assert result.url == server.url("/feeds/rss20.xml")
    assert len(parse_feed(result.body, url=result.url).entries) == 3


async def test_one_redirect_too_many_is_refused(
    client: httpx.AsyncClient, server: FeedServer
) -> None:
    with pytest.raises(SourceError, match="too many redirects"):
        await fetch(client, server.url("/chain/5"), max_redirects=5)


async def test_redirect_loop_ends(client: httpx.AsyncClient, server: FeedServer) -> None:
    with pytest.raises(SourceError, match="too many redirects"):
        await fetch(client, server.url("/loop/a"))
    assert len(server.requests) == 6


async def test_redirect_to_a_file_url_is_refused(
    client: httpx.AsyncClient, server: FeedServer
) -> None:
    with pytest.raises(SourceError, match=r"only http\(s\) URLs can be fed"):
        await fetch(client, server.url("/to-file"))


async def test_redirect_without_location(client: httpx.AsyncClient, server: FeedServer) -> None:
    with pytest.raises(SourceError, match=r"HTTP 302 .* without a new location"):
        await fetch(client, server.url("/no-location"))


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.org/feed.xml", "javascript:alert(1)", "data:,hello"],
)
async def test_only_web_urls_are_fetched(client: httpx.AsyncClient, url: str) -> None:
    with pytest.raises(SourceError, match=r"^only http\(s\) URLs can be fed"):
        await fetch(client, url)


async def test_a_url_without_host_is_refused(client: httpx.AsyncClient) -> None:
    with pytest.raises(SourceError, match="not a valid URL"):
        await fetch(client, "http:///feed.xml")


async def test_legacy_feed_scheme_means_http(client: httpx.AsyncClient, server: FeedServer) -> None:
    url = server.url("/feeds/atom10.xml").replace("http://", "feed://")

    result = await fetch(client, url)

    assert result.url == server.url("/feeds/atom10.xml")


@pytest.mark.parametrize("code", [404, 410, 500, 503])
async def test_http_errors_name_status_and_host(
    client: httpx.AsyncClient, server: FeedServer, code: int
) -> None:
    host = server.base.removeprefix("http://")
    with pytest.raises(SourceError, match=f"^HTTP {code} from {host}$"):
        await fetch(client, server.url(f"/status/{code}"))


async def test_huge_body_is_cut_off_while_streaming(
    client: httpx.AsyncClient, server: FeedServer
) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"^feed is larger than 1 MB$"):
        await fetch(client, server.url("/huge"), max_bytes=1_000_000)

    assert time.monotonic() - started < 3
    assert server.sent["huge"] < HUGE_BYTES / 2


async def test_huge_declared_length_is_refused_before_reading(
    client: httpx.AsyncClient, server: FeedServer
) -> None:
    with pytest.raises(SourceError, match=r"^feed is larger than 10 MB$"):
        await fetch(client, server.url("/huge?declared=1"), max_bytes=10_000_000)

    assert server.sent["huge"] < HUGE_BYTES / 2


async def test_decompressed_size_counts(client: httpx.AsyncClient, server: FeedServer) -> None:
    with pytest.raises(SourceError, match=r"^feed is larger than 1 MB$"):
        await fetch(client, server.url("/bomb"), max_bytes=1_000_000)


async def test_a_trickling_server_cannot_outlast_the_timeout(
    client: httpx.AsyncClient, server: FeedServer
) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"did not answer within 0\.5 s"):
        await fetch(client, server.url("/trickle"), timeout=0.5)

    assert time.monotonic() - started < 1.5


async def test_a_silent_server_times_out(client: httpx.AsyncClient, server: FeedServer) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"did not answer within 0\.5 s"):
        await fetch(client, server.url("/hang"), timeout=0.5)

    assert time.monotonic() - started < 1.5


async def test_closed_port(client: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(SourceError, match=f"^127.0.0.1:{port} refused the connection$"):
        await fetch(client, f"http://127.0.0.1:{port}/feed.xml", timeout=2)


async def test_not_http_at_all(client: httpx.AsyncClient, garbage_server: str) -> None:
    with pytest.raises(SourceError, match="sent a broken HTTP response"):
        await fetch(client, garbage_server, timeout=2)


async def test_tls_against_a_plain_server(client: httpx.AsyncClient, server: FeedServer) -> None:
    url = server.url("/feeds/rss20.xml").replace("http://", "https://")
    with pytest.raises(SourceError, match=r"^TLS handshake with 127\.0\.0\.1:[0-9]+ failed"):
        await fetch(client, url, timeout=2)


def _failing_client(error: Exception) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection failed", request=request) from error

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("cause", "message"),
    [
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "^cannot find the server feeds.example.org \\(DNS lookup failed\\)$",
        ),
        (
            ssl.SSLCertVerificationError(1, "certificate verify failed"),
            "^TLS certificate of feeds.example.org is not valid",
        ),
        (ConnectionRefusedError(111, "Connection refused"), "refused the connection"),
        (OSError(101, "Network is unreachable"), "^cannot connect to feeds.example.org"),
    ],
)
async def test_connection_failures_read_like_sentences(cause: Exception, message: str) -> None:
    async with _failing_client(cause) as failing:
        with pytest.raises(SourceError, match=message) as caught:
            await fetch(failing, "https://feeds.example.org/rss")

    assert "\n" not in str(caught.value)


async def test_load_source_from_a_url(client: httpx.AsyncClient, server: FeedServer) -> None:
    feed = await load_source(client, server.url("/feeds/es_mx.xml"))

    assert feed.title == "La Izquierda Socialista"
    assert feed.language == "es"
    assert len(feed.entries) == 2


async def test_load_source_from_a_listing(client: httpx.AsyncClient) -> None:
    feed = await load_source(client, str(DATA_DIR / "articles.txt"))

    assert feed.title is None
    assert len(feed.entries) == 12


async def test_load_source_from_a_feed_file(client: httpx.AsyncClient) -> None:
    feed = await load_source(client, str(FIXTURES / "atom10.xml"))

    assert feed.title == "Marxist Voice Atom"
    assert feed.entries[0].url is None  # relative link, nothing to resolve it against


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("file:///etc/passwd", r"^only http\(s\) URLs can be fed"),
        (str(FIXTURES / "missing.xml"), r"^missing\.xml does not exist$"),
        (str(FIXTURES), r"is a folder, not a file$"),
        (str(FIXTURES / "page.html"), r"^file:///.*/page\.html is not an RSS or Atom feed"),
    ],
)
async def test_load_source_failures(client: httpx.AsyncClient, location: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        await load_source(client, location)


async def test_load_source_caps_local_files_with_their_own_cap(client: httpx.AsyncClient) -> None:
    feed = await load_source(client, str(FIXTURES / "rss20.xml"), max_bytes=1000)
    assert len(feed.entries) == 3  # the feed cap is for servers, not for the operator's files

    with pytest.raises(SourceError, match=r"^rss20\.xml is larger than 1 kB$"):
        await load_source(client, str(FIXTURES / "rss20.xml"), max_file_bytes=1000)


async def test_a_gzip_bomb_never_inflates_past_the_cap_in_memory(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    """Four at once, as the poller fetches: each holds at most the cap plus a
    small margin, not the tens of megabytes a network chunk inflates to."""
    cap, margin = 2_000_000, 500_000
    wire = emulator.feeds.gzip_bomb("bomb.xml", inflated=100_000_000)
    assert wire < 200_000
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        results = await asyncio.gather(
            *(fetch(client, emulator.feed_url("bomb.xml"), max_bytes=cap) for _ in range(4)),
            return_exceptions=True,
        )
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()

    assert [str(result) for result in results] == ["feed is larger than 2 MB"] * 4
    assert peak < 4 * (cap + margin), f"peak {peak:,} bytes"


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", lambda data: gzip.compress(data[:900]) + gzip.compress(data[900:])),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some send
        ("identity", lambda data: data),
    ],
)
async def test_compressed_bodies_are_read_whole(
    client: httpx.AsyncClient,
    emulator: Emulator,
    encoding: str,
    encode: Callable[[bytes], bytes],
) -> None:
    body = (FIXTURES / "rss20.xml").read_bytes()
    emulator.feeds.publish("feed.xml", encode(body), content_encoding=encoding)

    result = await fetch(client, emulator.feed_url("feed.xml"))

    assert result.body == body


async def test_only_encodings_that_can_be_inflated_bounded_are_asked_for(
    client: httpx.AsyncClient, server: FeedServer, emulator: Emulator
) -> None:
    await fetch(client, server.url("/feeds/rss20.xml"))
    assert server.requests[-1].headers["Accept-Encoding"] == "gzip, deflate"

    emulator.feeds.publish("feed.br", b"\x0b\x02\x80hello\x03", content_encoding="br")
    with pytest.raises(
        SourceError, match=r"sent a body in an encoding the bot does not read \(br\)$"
    ):
        await fetch(client, emulator.feed_url("feed.br"))

    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    emulator.feeds.publish("broken.gz", header + b"\xff" * 20, content_encoding="gzip")
    with pytest.raises(SourceError, match=r"sent a body that cannot be decompressed$"):
        await fetch(client, emulator.feed_url("broken.gz"))
