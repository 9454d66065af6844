"""Feeds reach public addresses only, unless the operator allows a private source;
the address checked is the address connected to."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import socket
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.emulator import Emulator
from bot.ingest.addresses import AddressPolicy, PrivateAddressError, is_public
from bot.ingest.fetch import fetch, make_client
from bot.ingest.poller import poll_due
from bot.services import Services
from bot.store import feeds
from bot.store.db import Database
from bot.topics import Catalogue
from tests.digest.helpers import add_target

FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Internal</title>
<item><title>Internal memo</title><guid>memo-1</guid><description>Secret.</description></item>
</channel></rss>"""
PRIVATE = "is a private address; set FEED_ALLOWED_HOSTS to allow it"
T0 = 1_750_000_000


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "127.8.9.10",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",  # multicast counts as "global" for ipaddress
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "::ffff:10.1.2.3",
        "2002:a00:1::1",  # 6to4 around 10.0.0.1
        "2002:7f00:1::",
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",
    ],
)
def test_addresses_that_are_not_globally_routable(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8",
     "64:ff9b::808:808", "2002:808:808::1"],
)  # fmt: skip
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_the_policy_allows_names_addresses_and_ranges() -> None:
    policy = AddressPolicy.allowing(["feeds.internal", "10.0.0.0/8", "fd00::5"])
    ip = ipaddress.ip_address

    assert policy.refusal("FEEDS.internal.", [ip("192.168.1.1")]) is None
    assert policy.refusal("10.9.8.7", [ip("10.9.8.7")]) is None
    assert policy.refusal("news.example", [ip("93.184.216.34"), ip("fd00::5")]) is None
    assert policy.refusal("192.168.1.1", [ip("192.168.1.1")]) == f"192.168.1.1 {PRIVATE}"
    # One private address among public ones refuses the name: that is how rebinding starts.
    assert policy.refusal("news.example", [ip("93.184.216.34"), ip("127.0.0.1")]) == (
        f"news.example resolves to 127.0.0.1, which {PRIVATE}"
    )


def test_allowed_hosts_are_checked_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEED_ALLOWED_HOSTS", " 127.0.0.1, 10.0.0.0/8 ,Feeds.Internal, [fd00::1]")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.feed_allowed_hosts == ["127.0.0.1", "10.0.0.0/8", "feeds.internal", "fd00::1"]
    for wrong in ("http://feeds.internal", "feeds.internal:8080", "10.0.0.0/40"):
        monkeypatch.setenv("FEED_ALLOWED_HOSTS", wrong)
        with pytest.raises(ValidationError, match="FEED_ALLOWED_HOSTS"):
            Settings(_env_file=None)  # type: ignore[call-arg]


async def test_a_name_resolving_to_a_private_address_is_refused(emulator: Emulator) -> None:
    emulator.feeds.publish("feed.xml", FEED)
    async with make_client() as client:
        with pytest.raises(
            PrivateAddressError,
            match=rf"^localhost resolves to (127\.0\.0\.1|::1), which {PRIVATE}$",
        ):
            await fetch(client, emulator.feed_url("feed.xml", host="localhost"))
    assert emulator.feeds.hits["feed.xml"] == 0

    async with make_client(["127.0.0.0/8", "::1"]) as client:  # ranges let it through
        result = await fetch(client, emulator.feed_url("feed.xml", host="localhost"))
    assert b"Internal memo" in result.body


async def test_the_address_checked_is_the_address_connected_to(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name answers an allowed address to the check and a private
    one a moment later. The connection uses the first answer; nothing asks again."""
    emulator.feeds.publish("feed.xml", FEED)
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    asked: list[str] = []

    async def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "feeds.rebind.test":
            return await real(host, port, *args, **kwargs)
        asked.append(host)
        address = "127.0.0.1" if len(asked) == 1 else "10.255.255.1"  # nothing answers there
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    async with make_client(["127.0.0.1"]) as client:
        result = await fetch(client, emulator.feed_url("feed.xml", host="feeds.rebind.test"))

    assert b"Internal memo" in result.body
    assert asked == ["feeds.rebind.test"]
    assert emulator.feeds.hits["feed.xml"] == 1


@pytest.fixture
def services(settings: Settings, db: Database, catalogue: Catalogue) -> Services:
    settings.feed_timeout_seconds = 2.0
    settings.feed_allowed_hosts = ["localhost"]  # a named source, not 127.0.0.1 itself
    settings.admin_ids = [111]
    return Services(settings=settings, db=db, catalogue=catalogue)


async def test_the_poller_records_a_redirect_into_the_private_network_as_a_failure(
    services: Services, emulator: Emulator
) -> None:
    """The feed was fine when added; later its server redirects to an internal
    endpoint. Nothing internal is fetched or stored, and the admins are told why."""
    await add_target(services.db, 111)
    emulator.feeds.publish("internal.xml", FEED)
    emulator.feeds.redirect("news.xml", emulator.feed_url("internal.xml"))
    feed, _ = await feeds.add_feed(
        services.db, emulator.feed_url("news.xml", host="localhost"), now=T0
    )
    await feeds.record_failure(  # failing for a day already: this failure is reported
        services.db, feed.id, now=T0 - feeds.FAILING_AFTER, next_poll_at=T0, error="HTTP 503"
    )

    report = await poll_due(services, T0, rng=random.Random(1))

    assert (report.polled, report.failed, report.new_articles) == (1, 1, 0)
    state = await feeds.get_feed(services.db, feed.id)
    assert state is not None
    assert state.last_error == f"127.0.0.1 {PRIVATE}"
    assert emulator.feeds.hits == {"news.xml": 1}
    assert await services.db.fetchval("SELECT count(*) FROM articles") == 0
    rows = await services.db.fetchall("SELECT payload FROM outbox WHERE kind = 'notice'")
    assert [PRIVATE in json.loads(row[0])["text"] for row in rows] == [True]
