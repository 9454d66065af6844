"""An article's lead image, from what feeds and listings say about it.

The bot never downloads an image: Telegram fetches the URL when a message
shows it. So nothing here resolves a host name either; what is refused is what
is visibly wrong from the URL alone: schemes other than http(s) (data: URLs
among them), `localhost` and single-label names, IP literals outside the public
internet (in any of the forms a URL parser accepts, such as `2130706433` for
127.0.0.1), credentials in the URL, SVG (Telegram shows no vector images and
they can carry scripts), and dimensions no photo has: tracking pixels (1×1 and
other tiny images) and gigantic or absurdly thin ones. Width and height are
kept when the source gives them, for a later choice of how to show the image.

Sources, best first: `media:content` (the largest image of a group),
`media:thumbnail`, an image enclosure, then the first usable `<img>` of the
article's content or of its summary. Relative URLs are resolved against the
article's own link.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from bot.ingest.addresses import is_public
from bot.store.articles import Image

__all__ = ["MAX_SIDE", "MIN_SIDE", "image", "image_url", "lead_image"]

MIN_SIDE: Final = 50
"""Pixels: an image given as narrower or lower is a tracking pixel, spacer or icon."""
MAX_SIDE: Final = 10_000
"""Pixels: Telegram takes photos up to 10,000 wide and high together; more is a mistake."""
MAX_RATIO: Final = 20
"""Telegram refuses photos more than 20 times wider than high (or higher than wide)."""
MAX_IMAGE_URL_CHARS: Final = 2_048
SCAN_CHARS: Final = 65_536
"""How far into an HTML fragment the first image is looked for: a lead image
stands near the top, and a 5 MB article must not cost a full parse here."""

_NOT_IMAGES: Final = (
    ".svg", ".svgz", ".mp4", ".m4v", ".mov", ".webm", ".mp3", ".m4a", ".ogg", ".oga",
    ".wav", ".pdf", ".zip",
)  # fmt: skip
_IMAGE_SUFFIXES: Final = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".bmp")
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}", re.I)


def image_url(value: Any, base: str | None = None) -> str | None:
    """`value` as an absolute http(s) image URL Telegram may be given, or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_IMAGE_URL_CHARS or value[:5].lower() == "data:":
        return None
    try:
        url: str = urljoin(base, value) if base else value
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or len(url) > MAX_IMAGE_URL_CHARS:
        return None
    if "@" in parts.netloc or not _public_host(host):
        return None
    if parts.path.lower().endswith(_NOT_IMAGES):
        return None
    return url


def _public_host(host: str) -> bool:
    host = host.rstrip(".")
    try:
        return is_public(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        # 2130706433, 0x7f.1, 127.1: forms of 127.0.0.1 that URL parsers accept.
        try:
            return is_public(ipaddress.IPv4Address(socket.inet_aton(host)))
        except OSError:
            return False
    return "." in host and host != "localhost" and not host.endswith(".localhost")


def _side(value: Any) -> int | None:
    """A width or height in pixels; None when absent or not a plain number ("100%")."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 9:
        return int(value.strip())
    return None


def image(
    url: Any,
    width: Any = None,
    height: Any = None,
    *,
    base: str | None = None,
    media_type: Any = None,
) -> Image | None:
    """An image worth showing, or None: checks the URL, the declared type and the size."""
    if isinstance(media_type, str) and media_type.strip():
        kind = media_type.strip().lower()
        if not kind.startswith("image/") or kind.startswith("image/svg"):
            return None
    address = image_url(url, base)
    if address is None:
        return None
    w, h = _side(width), _side(height)
    for side in (w, h):
        if side is not None and not MIN_SIDE <= side <= MAX_SIDE:
            return None
    if w is not None and h is not None and (w + h > MAX_SIDE or max(w, h) > MAX_RATIO * min(w, h)):
        return None
    return Image(url=address, width=w, height=h)


def lead_image(
    raw: Mapping[str, Any], *, base: str | None, html: Iterable[str | None] = ()
) -> Image | None:
    """The lead image of a feedparser entry; `html` are its content and summary,
    searched in that order for a first usable `<img>` when the entry's media say nothing."""
    media = [
        found
        for item in _dicts(raw.get("media_content"))
        if str(item.get("medium") or "image").lower() == "image"
        and (found := image(item.get("url"), item.get("width"), item.get("height"),
                            base=base, media_type=item.get("type")))
    ]  # fmt: skip
    if media:
        return max(media, key=lambda found: (found.width or 0) * (found.height or 0))
    for item in _dicts(raw.get("media_thumbnail")):
        if found := image(item.get("url"), item.get("width"), item.get("height"), base=base):
            return found
    # feedparser lists enclosures among the links (its `enclosures` is a view of them).
    for item in _dicts(raw.get("links")):
        if item.get("rel") != "enclosure":
            continue
        url, kind = item.get("href"), item.get("type")
        if not kind and not str(url or "").lower().split("?", 1)[0].endswith(_IMAGE_SUFFIXES):
            continue
        if kind and (found := image(url, base=base, media_type=kind)):
            return found
        if not kind and (found := image(url, base=base)):
            return found
    for fragment in html:
        if fragment and (found := first_image(fragment, base=base)):
            return found
    return None


def first_image(fragment: str, *, base: str | None) -> Image | None:
    """The first usable `<img>` in the opening SCAN_CHARS of an HTML fragment."""
    if "<img" not in fragment[:SCAN_CHARS].lower():
        return None
    finder = _ImageFinder(base)
    try:
        finder.feed(fragment[:SCAN_CHARS])
    except Exception:  # defensive: the stdlib parser should not raise, but an image is optional
        return None
    return finder.found


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


class _ImageFinder(HTMLParser):
    def __init__(self, base: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: Image | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img" and self.found is None:
            values = dict(attrs)
            self.found = image(
                values.get("src"), values.get("width"), values.get("height"), base=self.base
            )
