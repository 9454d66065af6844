"""OPML, the format feed readers exchange subscription lists in.

Reading uses the standard library's expat parser with every DTD refused: an
OPML file has no use for one, and a DTD is how XML files carry entity
expansion bombs and external entity reads. Only `outline` elements with an
http(s) `xmlUrl` become feeds; nesting (folders) is flattened.

The XML modules are imported by the functions that use them: an admin's OPML
import or export is rare, and an idle bot need not hold them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any, NoReturn

from bot.languages import LANGUAGES
from bot.numbers import whole_number

MAX_BYTES = 1024 * 1024
MAX_FEEDS = 1000
MAX_URL = 2000
MAX_TITLE = 300


class OpmlError(Exception):
    """The file is not usable OPML; the message is one line for a person."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None = None
    language: str | None = None
    poll_minutes: int | None = None


@dataclass(frozen=True)
class OpmlDocument:
    feeds: list[OpmlFeed]
    skipped: list[str] = field(default_factory=list)  # outlines with an unusable xmlUrl


class _Refused(Exception):
    pass


def _refuse(*args: Any) -> NoReturn:
    raise _Refused()


def read_opml(data: bytes, *, max_feeds: int = MAX_FEEDS) -> OpmlDocument:
    """The feeds listed in an OPML document. Raises OpmlError when it is not one,
    is too large, or declares a DTD or entities."""
    if len(data) > MAX_BYTES:
        raise OpmlError(f"the file is larger than {MAX_BYTES // 1024} KB")
    outlines: list[dict[str, str]] = []
    root: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        if not root:
            root.append(name)
        if name == "outline" and "xmlUrl" in attributes:
            if len(outlines) >= max_feeds:
                raise OpmlError(f"more than {max_feeds} feeds in one file")
            outlines.append(attributes)

    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except _Refused:
        raise OpmlError("the file declares a DTD or entities, which OPML never needs") from None
    except expat.ExpatError as exc:
        raise OpmlError(f"not well-formed XML ({expat.ErrorString(exc.code)})") from None
    if root != ["opml"]:
        raise OpmlError("not an OPML file (its root element is not <opml>)")
    return _document(outlines)


def _document(outlines: list[dict[str, str]]) -> OpmlDocument:
    feeds: dict[str, OpmlFeed] = {}
    skipped: list[str] = []
    for attributes in outlines:
        url = attributes["xmlUrl"].strip()
        if not url.lower().startswith(("http://", "https://")) or len(url) > MAX_URL:
            skipped.append(url[:100])
            continue
        title = (attributes.get("title") or attributes.get("text") or "").strip()
        if title == url:  # readers put the URL in `text` when a feed has no title
            title = ""
        language = (attributes.get("language") or "").strip().lower()[:2]
        minutes = whole_number(attributes.get("pollMinutes", ""))
        feeds.setdefault(
            url,
            OpmlFeed(
                url=url,
                title=title[:MAX_TITLE] or None,
                language=language if language in LANGUAGES else None,
                poll_minutes=minutes if minutes else None,
            ),
        )
    return OpmlDocument(list(feeds.values()), skipped)


def write_opml(feeds: Sequence[OpmlFeed], *, title: str, created: datetime) -> bytes:
    """An OPML 2.0 document listing `feeds` (readers import it as subscriptions)."""
    import xml.etree.ElementTree as ET

    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(created)
    body = ET.SubElement(opml, "body")
    for feed in feeds:
        outline = ET.SubElement(body, "outline", type="rss", text=feed.title or feed.url)
        if feed.title:
            outline.set("title", feed.title)
        outline.set("xmlUrl", feed.url)
        if feed.language:
            outline.set("language", feed.language)
        if feed.poll_minutes:
            outline.set("pollMinutes", str(feed.poll_minutes))
    ET.indent(opml)
    data: bytes = ET.tostring(opml, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
