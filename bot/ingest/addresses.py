"""Feeds are fetched from public addresses only, unless the operator names a private source.

A feed URL is chosen by an admin, and every redirect by whoever runs the feed's
server: left alone, either could make the bot fetch `http://127.0.0.1:…/admin`
or a cloud metadata endpoint and store the answer as articles. So the feed
client connects through `GuardedBackend`, which resolves the host itself,
refuses the connection when any address is not globally routable (and not
allowed by FEED_ALLOWED_HOSTS), and then connects to an address it checked.
Checking inside the connect, rather than before the request, leaves no gap for
a DNS answer that changes between the check and the connection, and covers
every redirect hop, because each hop opens its connection here.

TLS is untouched: httpcore starts it on the returned stream with the URL's
host name, so SNI and certificate checks still name the host, not the address;
the Host header comes from the URL as before.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import httpcore
import httpx

from bot.ingest.entry import SourceError

__all__ = [
    "AddressPolicy",
    "GuardedBackend",
    "GuardedTransport",
    "PrivateAddressError",
    "is_public",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges that carry an IPv4 address in their last 32 bits: a NAT64 gateway
# (64:ff9b::/96, RFC 6052) and local-use NAT64 (64:ff9b:1::/48, RFC 8215)
# would forward them to that IPv4 address.
_NAT64: Final = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)
# Carrier-grade NAT (RFC 6598): shared by a provider's customers, never public.
_SHARED: Final = ipaddress.IPv4Network("100.64.0.0/10")


def is_public(address: IPAddress) -> bool:
    """True only for a globally routable unicast address.

    `is_global` alone is not enough: multicast counts as global, and IPv6
    ranges that embed an IPv4 address (mapped, 6to4, Teredo, NAT64) reach
    whatever that IPv4 address is, so the embedded address must be public too.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if any(address in network for network in _NAT64):
            # DNS64 gives every public IPv4 host such an address on IPv6-only networks.
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        embedded = [address.sixtofour, *(address.teredo or ())]
        if any(inner is not None and not is_public(inner) for inner in embedded):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED)
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


class PrivateAddressError(SourceError):
    """A feed (or one of its redirects) points at a private address; no connection was made."""


@dataclass(frozen=True)
class AddressPolicy:
    """Which private sources the operator allows: host names as written in feed
    URLs, and address ranges. Everything public is always allowed."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def allowing(cls, entries: Iterable[str]) -> AddressPolicy:
        """From FEED_ALLOWED_HOSTS entries (already checked by Settings): each
        is an address, a CIDR range or a host name."""
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            text = entry.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                names.add(text)
        return cls(frozenset(names), tuple(networks))

    def refusal(self, host: str, addresses: Sequence[IPAddress]) -> str | None:
        """Why connecting to `host` at `addresses` is refused, or None when it is not.

        One private address refuses the host: a name that resolves to both a
        public and a private address is exactly what a rebinding attack uses.
        """
        if host.lower().rstrip(".") in self.names:
            return None
        for address in addresses:
            if is_public(address) or any(address in network for network in self.networks):
                continue
            where = host if _is_literal(host) else f"{host} resolves to {address}, which"
            return f"{where} is a private address; set FEED_ALLOWED_HOSTS to allow it"
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the address check between resolving and connecting."""

    def __init__(
        self, policy: AddressPolicy, backend: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        refusal = self.policy.refusal(host, [address for address, _ in addresses])
        if refusal is not None:
            raise PrivateAddressError(refusal)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for _, text in addresses:
            try:
                return await self._backend.connect_tcp(
                    text,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # _resolve never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting through `GuardedBackend`.

    httpx 0.28 has no public way to hand its pool a network backend, so the
    pool it built is replaced by an identical one that has ours; the rest of
    the transport (request and response mapping, error translation) is httpx's.
    """

    def __init__(self, policy: AddressPolicy, *, limits: httpx.Limits) -> None:
        ssl_context = httpx.create_ssl_context()  # certifi's roots, or SSL_CERT_FILE/DIR
        super().__init__(verify=ssl_context, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


async def _resolve(
    host: str,
    port: int,
    timeout: float | None,  # noqa: ASYNC109 - httpcore's connect timeout
) -> list[tuple[IPAddress, str]]:
    """Every address of `host`, in the resolver's order, each once: parsed for
    the check and as text (with an IPv6 scope, if any) for the connection."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"no address for {host} in time") from exc
    except OSError as exc:  # socket.gaierror included
        raise httpcore.ConnectError(str(exc)) from exc
    found: dict[str, IPAddress] = {}
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        text = str(sockaddr[0])
        found.setdefault(text, ipaddress.ip_address(text.split("%", 1)[0]))
    if not found:
        raise httpcore.ConnectError(f"no IPv4 or IPv6 address for {host}")
    return [(address, text) for text, address in found.items()]


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
