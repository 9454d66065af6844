"""Whether Telegram would manage to fetch a photo the bot names by URL.

Telegram downloads a photo sent as an HTTP(S) URL itself, and refuses the
message when it cannot. The emulator never fetches anything: it decides from
the URL alone. By default a URL whose host is `localhost` or an IP literal in a
loopback, private, link-local or otherwise non-public range is refused with
"failed to get HTTP URL content" (Telegram's servers cannot reach it), and any
other URL is accepted. A test can refuse more, exactly or by prefix, with the
answer of its choice, so a bot's fallback for a rejected image is exercised;
or accept a URL the default would refuse.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from .errors import ApiError, ErrorKind, bad_request

FAULT_NAME = "photo_url"
"""How a configured refusal is counted among the faults."""


class PhotoRefusal(StrEnum):
    """Telegram's answers for a photo URL it will not use."""

    WRONG_IDENTIFIER = "wrong_identifier"
    """Bad Request: wrong file identifier/HTTP URL specified"""
    UNREACHABLE = "unreachable"
    """Bad Request: failed to get HTTP URL content"""
    WRONG_TYPE = "wrong_type"
    """Bad Request: wrong type of the web page content (the URL is no image)"""

    @property
    def description(self) -> str:
        return _TEXTS[self]


_TEXTS = {
    PhotoRefusal.WRONG_IDENTIFIER: "wrong file identifier/HTTP URL specified",
    PhotoRefusal.UNREACHABLE: "failed to get HTTP URL content",
    PhotoRefusal.WRONG_TYPE: "wrong type of the web page content",
}


def default_refusal(url: str) -> PhotoRefusal | None:
    """What Telegram's own servers would make of `url`, judged without a lookup."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return PhotoRefusal.WRONG_IDENTIFIER
    if not host:
        return PhotoRefusal.WRONG_IDENTIFIER
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return PhotoRefusal.UNREACHABLE
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if address.is_global else PhotoRefusal.UNREACHABLE


@dataclass(slots=True)
class PhotoUrls:
    """The rules a test set for photo URLs; anything unmatched gets `default_refusal`.

    An exact rule beats a prefix rule, and a longer prefix beats a shorter one.
    A rule's refusal of None accepts the URL.
    """

    exact: dict[str, PhotoRefusal | None] = field(default_factory=dict)
    prefixes: dict[str, PhotoRefusal | None] = field(default_factory=dict)

    def refuse(
        self,
        url: str,
        refusal: PhotoRefusal | str = PhotoRefusal.UNREACHABLE,
        *,
        prefix: bool = False,
    ) -> None:
        self._rules(prefix)[url] = PhotoRefusal(refusal)

    def accept(self, url: str, *, prefix: bool = False) -> None:
        """Let Telegram "fetch" `url` even where the default would refuse it."""
        self._rules(prefix)[url] = None

    def clear(self) -> None:
        self.exact.clear()
        self.prefixes.clear()

    def _rules(self, prefix: bool) -> dict[str, PhotoRefusal | None]:
        return self.prefixes if prefix else self.exact

    def rule(self, url: str) -> tuple[bool, PhotoRefusal | None]:
        """Whether a configured rule matched, and its refusal (None: accepted)."""
        if url in self.exact:
            return True, self.exact[url]
        matched = [p for p in self.prefixes if url.startswith(p)]
        if matched:
            return True, self.prefixes[max(matched, key=len)]
        return False, None

    def check(self, url: str) -> ApiError | None:
        """The answer Telegram would give instead of the message, or None.

        A configured refusal is an injected fault; an unreachable host is the
        world saying no (the bot must cope); a URL without a host is the bot's
        mistake.
        """
        configured, refusal = self.rule(url)
        if configured:
            if refusal is None:
                return None
            return bad_request(refusal.description).as_fault(FAULT_NAME)
        refusal = default_refusal(url)
        if refusal is None:
            return None
        if refusal is PhotoRefusal.WRONG_IDENTIFIER:
            return bad_request(refusal.description)
        return bad_request(refusal.description, kind=ErrorKind.STATE)
