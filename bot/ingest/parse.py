"""RSS (0.9x, 1.0, 2.0) and Atom documents into entries.

feedparser does the XML work. It only ever sees bytes already in memory: given
a string it would happily open URLs and local files itself, which is the
fetcher's job (with its limits) and nobody else's. It is imported on the first
parse, not with this module: a bot without feeds never needs its few MB.
"""

from __future__ import annotations

import calendar
import html
import io
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from bot.ingest.alternates import MAX_CLAIMS
from bot.ingest.content import full_content
from bot.ingest.entry import Alternate, Entry, ParsedFeed, SourceError
from bot.ingest.images import lead_image
from bot.ingest.language import normalize_language
from bot.ingest.pipeline import MAX_SUMMARY_CHARS
from bot.ingest.text import clean_text, clean_title, html_to_text

__all__ = ["MAX_FEED_BYTES", "MAX_FEED_ENTRIES", "describe_size", "parse_feed"]

MAX_FEED_BYTES = 10_000_000
MAX_FEED_ENTRIES = 1_000
"""Entries read from one fetched feed, first first (feeds list the newest first).
Real feeds carry tens; a 10 MB feed of tiny entries could otherwise add a
hundred thousand articles at every poll. Local files named by the operator
(archive exports) are read whole."""

_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=", re.IGNORECASE)
_LOOKS_LIKE_HTML = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)
_TITLE_FROM_SUMMARY_CHARS = 80


def parse_feed(
    body: bytes,
    *,
    url: str | None = None,
    content_type: str | None = None,
    max_bytes: int = MAX_FEED_BYTES,
    max_entries: int | None = MAX_FEED_ENTRIES,
) -> ParsedFeed:
    """Entries of an RSS or Atom document; SourceError when `body` is not one.

    `url` is where the document came from: relative links are resolved against
    it. `content_type` is the HTTP header; its charset is used only when the
    document does not declare its own encoding, because the XML declaration
    travels with the bytes while servers often mislabel them. Only the first
    `max_entries` entries are read (None: all of them).
    """
    source = _describe(url)
    if len(body) > max_bytes:
        raise SourceError(f"{source} is larger than {describe_size(max_bytes)}")
    if not body.strip():
        raise SourceError(f"{source} is empty")
    import feedparser

    _read_xhtml_links()
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=_response_headers(body, content_type),
            # The HTML is flattened to plain text here, and the full content
            # sanitised by nh3 (bot.ingest.content); skipping these passes makes
            # parsing about a third faster.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser is lenient, but a feed must not crash a poll
        raise SourceError(f"{source} could not be parsed ({type(exc).__name__})") from exc

    feed: Mapping[str, Any] = dict(parsed.get("feed") or {})
    title = _text(feed.get("title"), feed.get("title_detail"), title=True) or None
    language = normalize_language(feed.get("language"))
    base = url if url and _is_web_url(url) else None
    raws = parsed.get("entries") or []
    entries = [
        entry
        for raw in (raws if max_entries is None else raws[:max_entries])
        if (entry := _entry(raw, base=base, feed_language=language)) is not None
    ]
    if not entries and (not parsed.get("version") or (_is_malformed(parsed) and not title)):
        raise SourceError(f"{source} is not an RSS or Atom feed{_guess(body, content_type)}")
    return ParsedFeed(title=title, language=language, entries=entries)


def _entry(raw: Mapping[str, Any], *, base: str | None, feed_language: str | None) -> Entry | None:
    # A plain dict skips FeedParserDict's alias lookups: faster, and no
    # deprecated fallback from `updated_parsed` to `published_parsed`.
    raw = dict(raw)
    title = _text(raw.get("title"), raw.get("title_detail"), title=True)
    summary_detail = raw.get("summary_detail")
    summary = _text(raw.get("summary"), summary_detail)
    contents = [c for c in raw.get("content") or () if _has_value(c)]
    content = contents[0] if contents else None
    # feedparser fills in an entry's summary from its content when the feed gives none.
    summary_is_content = not summary or (
        content is not None and raw.get("summary") == content.get("value")
    )
    if not summary:
        for candidate in contents:
            if summary := _text(candidate.get("value"), candidate):
                summary_detail = content = candidate
                break
    if not title and not summary:
        return None
    declared = _declared_language(raw, summary_detail) or feed_language
    url, alternates = _links(raw, base, declared)
    # Images and links inside an article are relative to the article, not the feed.
    article_base = url or base
    kept = None
    if content is not None:
        kept = full_content(
            content.get("value") or "",
            plain=content.get("type") == "text/plain",
            base=article_base,
            summary=summary,
            summary_is_content=summary_is_content,
            summary_limit=MAX_SUMMARY_CHARS,
        )
    return Entry(
        title=title or _title_from(summary),
        summary=summary,
        url=url,
        guid=str(raw.get("id") or "").strip() or None,
        published_at=_timestamp(raw.get("published_parsed") or raw.get("updated_parsed")),
        language=_own_language(raw, summary_detail, feed_language),
        categories=_categories(raw.get("tags") or ()),
        image=lead_image(
            raw,
            base=article_base,
            html=(
                kept.html if kept else _html(content.get("value"), content) if content else None,
                _html(raw.get("summary"), raw.get("summary_detail")),
            ),
        ),
        content=kept,
        alternates=alternates,
    )


def _read_xhtml_links() -> None:
    """Have feedparser read `<xhtml:link>` as it reads `<atom:link>`.

    WordPress multilingual plugins name an RSS item's translations with either;
    feedparser dispatches on the element's name and knows only the second, so
    the first gets the same handler, once. Nothing else about parsing changes."""
    from feedparser.namespaces._base import Namespace  # type: ignore[import-untyped]

    if not hasattr(Namespace, "_start_xhtml_link"):
        Namespace._start_xhtml_link = Namespace._start_link
        Namespace._end_xhtml_link = Namespace._end_link


def _links(
    raw: Mapping[str, Any], base: str | None, declared: str | None
) -> tuple[str | None, tuple[Alternate, ...]]:
    """The entry's own address, and its alternates in the publication's languages.

    feedparser's `link` is the *last* alternate link, which in a feed that names
    translations (`hreflang`) is as likely the translation as the article; so
    then the article's own is the first alternate without `hreflang`, else the
    first in the entry's declared language, else the first. Without any
    `hreflang`, `link` is what it always was."""
    links = [
        link
        for link in raw.get("links") or ()
        if isinstance(link, Mapping)
        and link.get("rel", "alternate") == "alternate"
        and isinstance(link.get("href"), str)
    ]
    if not any(link.get("hreflang") for link in links):
        return _link(raw.get("link"), base), ()
    own = next(
        (link for link in links if not link.get("hreflang")),
        next(
            (link for link in links if normalize_language(link.get("hreflang")) == declared),
            links[0],
        ),
    )
    alternates: dict[str, Alternate] = {}
    for link in links:
        language = normalize_language(link.get("hreflang"))
        href = _link(link["href"], base)
        if link is own or language is None or href is None or href in alternates:
            continue
        alternates[href] = Alternate(url=href, language=language)
        if len(alternates) == MAX_CLAIMS:
            break
    return _link(own["href"], base), tuple(alternates.values())


def _has_value(content: Any) -> bool:
    """A `content:encoded` or Atom `content` element with something in it."""
    value = content.get("value") if isinstance(content, Mapping) else None
    return isinstance(value, str) and not value.isspace() and bool(value)


def _html(value: Any, detail: Mapping[str, Any] | None) -> str | None:
    if not isinstance(value, str) or (detail or {}).get("type") == "text/plain":
        return None
    return value


def _text(value: Any, detail: Mapping[str, Any] | None, *, title: bool = False) -> str:
    if not isinstance(value, str) or not value:
        return ""
    # RSS descriptions are HTML by definition, so only a declared plain type is plain.
    is_html = (detail or {}).get("type") != "text/plain"
    if title:
        # Plain-text titles still arrive double-escaped ("AT&amp;amp;T") from many CMSs.
        return clean_title(value, html=True) if is_html else clean_title(html.unescape(value))
    return html_to_text(value) if is_html else clean_text(value)


def _title_from(summary: str) -> str:
    line = summary.split("\n", 1)[0]
    if len(line) <= _TITLE_FROM_SUMMARY_CHARS:
        return line
    cut = line[:_TITLE_FROM_SUMMARY_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def _link(value: Any, base: str | None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    link = value.strip()
    if base:
        try:
            link = urljoin(base, link)
        except ValueError:
            return None
    return link if _is_web_url(link) else None


def _timestamp(value: Any) -> int | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return calendar.timegm(value)  # feedparser already converted it to UTC
    except (TypeError, ValueError, OverflowError):
        return None


def _declared_language(raw: Mapping[str, Any], detail: Mapping[str, Any] | None) -> str | None:
    # Atom's xml:lang on an entry overrides the feed's; feedparser files it
    # under the text constructs.
    for candidate in (detail, raw.get("title_detail")):
        if candidate and (language := normalize_language(candidate.get("language"))):
            return language
    return None


def _own_language(
    raw: Mapping[str, Any], detail: Mapping[str, Any] | None, feed_language: str | None
) -> str | None:
    """An entry's language only when the entry itself declares one. The feed's
    <language> is often one value for everything a CMS publishes, so it stays a
    hint (ParsedFeed.language) for detection rather than the answer."""
    declared = _declared_language(raw, detail)
    return declared if declared != feed_language else None


def _categories(tags: Any) -> tuple[str, ...]:
    names = (clean_title(str(tag.get("label") or tag.get("term") or "")) for tag in tags)
    return tuple(dict.fromkeys(name for name in names if name))


def _response_headers(body: bytes, content_type: str | None) -> dict[str, str]:
    # No Content-Location on purpose: with a base URI feedparser resolves URIs
    # on every element, a quarter of its time; `_link` resolves the one we keep.
    headers: dict[str, str] = {}
    charset = _CHARSET.search(content_type or "")
    has_bom = body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
    if charset and not has_bom and not _XML_ENCODING.match(body[:512]):
        headers["content-type"] = f"application/xml; charset={charset.group(1)}"
    return headers


def _is_malformed(parsed: Mapping[str, Any]) -> bool:
    # feedparser also sets `bozo` for harmless things such as an encoding
    # override; only an XML syntax error says the document may not be a feed.
    import xml.sax

    return bool(parsed.get("bozo")) and isinstance(
        parsed.get("bozo_exception"), xml.sax.SAXException
    )


def _guess(body: bytes, content_type: str | None) -> str:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if "html" in media_type or _LOOKS_LIKE_HTML.match(body[:4096]):
        return " (it looks like a web page)"
    if "json" in media_type or body.lstrip()[:1] in (b"{", b"["):
        return " (it looks like JSON)"
    return ""


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _describe(url: str | None) -> str:
    if not url:
        return "the document"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the document"
    if parts.hostname and "@" in parts.netloc:  # never echo credentials
        netloc = parts.netloc.rsplit("@", 1)[1]
        return parts._replace(netloc=netloc).geturl()
    return url


def describe_size(size: int) -> str:
    """A byte count as people read it in a message: '10 MB', '10.5 MB', '500 kB'."""
    for unit, scale in (("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1_000)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"
