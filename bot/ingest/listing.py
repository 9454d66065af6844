"""The editors' plain-text listing of articles.

Format
------
A listing is a UTF-8 text file of blocks separated by one or more blank lines.
Blocks alternate: a title block, then a summary block, then the next title::

    Death of Migrants in Ciudad Juárez, Mexico: Capitalism and Its Representatives to Blame

    On March 27, a humanitarian catastrophe occurred at a migration detention center ...

    La muerte de Migrantes en Chihuahua: El culpable es el capitalismo y sus representantes
    URL: https://example.org/es/la-muerte-de-migrantes
    Date: 2023-03-29
    Language: es
    Topics: migration, Mexico

    En un centro de detención migratoria del Instituto Nacional de Migración ...

* The first line of a title block is the title.
* Optional header lines may follow directly under the title (no blank line in
  between), one ``Key: value`` each, keys in any case, in any order:

  ``URL:`` (or ``Link:``, ``Enlace:``)
      the article's http(s) address.
  ``Date:`` (or ``Fecha:``)
      publication date: ``2024-03-30``, ``2024-03-30 14:05``, or full ISO 8601
      such as ``2024-03-30T14:05:00-06:00``. Without an offset it is UTC.
      Without a date an article shows none; it is ordered as loaded (the
      file's first block newest), and goes into digests as news of the day it was loaded.
  ``Language:`` (or ``Idioma:``)
      ``en`` or ``es`` (``es-MX``, ``English``, ``Spanish``, ``español`` work
      too). Without it the language is detected from the text.
  ``Topics:`` (or ``Tags:``, ``Categories:``, ``Temas:``)
      comma- or semicolon-separated list.
  ``ID:`` (or ``GUID:``)
      a stable identifier, for when the title may later be corrected.
  ``Image:`` (or ``Imagen:``)
      the article's lead image: an http(s) address on the public internet
      (relative to the ``URL:`` when it is relative). Images that cannot be
      shown (SVG, data: URLs, local or private addresses) are ignored.
  ``Translation:`` (or ``Traducción:``)
      the same story in the other language: its http(s) address
      (``Translation: https://example.org/es/la-muerte-de-migrantes``) or, for
      an article of the same listing, its ``ID:``
      (``Translation: ID: juarez-es``). Whichever of the two is loaded second
      completes the pair; one side saying it is enough. An article whose ``URL:``
      has a language segment (``/en/…``) is also taken to have its translation
      at the same address under the other one (``/es/…``).

  A header with a value that cannot be understood is ignored (and logged); it
  never turns into text.
* Any other line under the title (and its headers) starts the summary, so a
  forgotten blank line between title and summary does no harm.
* A summary block may span several lines; they are joined with spaces.
* A final title without a summary gets an empty summary.
* Files may use CRLF or LF line ends, start with a byte-order mark and carry
  trailing spaces; none of it matters.

A listing written before headers existed (every block one line) reads exactly
as it always did: header lines are only recognised inside a title block.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bot.ingest.entry import Alternate, Entry, Image, SourceError
from bot.ingest.images import image
from bot.ingest.language import normalize_language
from bot.ingest.parse import describe_size
from bot.ingest.text import clean_title

__all__ = ["MAX_FILE_BYTES", "parse_listing", "read_listing"]

log = logging.getLogger(__name__)

_HEADER = re.compile(r"([^\W\d_]+)[ \t]*:[ \t]*(.*)")  # letters, accented too
_KEYS = {
    "url": "url",
    "link": "url",
    "enlace": "url",
    "date": "date",
    "fecha": "date",
    "language": "language",
    "idioma": "language",
    "topics": "topics",
    "tags": "topics",
    "categories": "topics",
    "temas": "topics",
    "id": "guid",
    "guid": "guid",
    "image": "image",
    "imagen": "image",
    "translation": "translation",
    "traducción": "translation",
    "traduccion": "translation",
}
_TRANSLATION_ID = re.compile(r"(?:id|guid)[ \t]*:[ \t]*(.+)", re.IGNORECASE)
_LIST_SEPARATOR = re.compile(r"[,;]")
MAX_FILE_BYTES = 1 << 30
"""Largest local file (listing or feed) the operator may load: an archive export
loads whole. The feed cap (FEED_MAX_BYTES) is for other people's servers."""


def parse_listing(text: str) -> list[Entry]:
    """Entries from listing text, in file order. Never raises: odd input gives odd entries."""
    entries: list[Entry] = []
    blocks = _blocks(text)
    for block in blocks:
        title, headers, rest = _split_title_block(block)
        entries.append(_entry(title, headers, rest or next(blocks, [])))
    return entries


def read_listing(path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES) -> list[Entry]:
    """Entries from a listing file; SourceError when it cannot be read as text."""
    name = Path(path).name or str(path)
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise SourceError(f"listing {name} does not exist") from None
    except IsADirectoryError:
        raise SourceError(f"listing {name} is a folder, not a file") from None
    except OSError as exc:
        raise SourceError(f"cannot read listing {name}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise SourceError(f"listing {name} is larger than {describe_size(max_bytes)}")
    return parse_listing(_decode(data, name))


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SourceError(f"listing {name} is not valid UTF-16 text") from None
    if b"\x00" in data:
        raise SourceError(f"listing {name} is not a text file")
    # Editors save from many tools; utf-8 is the rule, Windows' ANSI a common
    # accident, and latin-1 decodes anything so the file still loads.
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _blocks(text: str) -> Iterator[list[str]]:
    block: list[str] = []
    for raw in text.splitlines():
        line = clean_title(raw)  # also drops BOMs, control and zero-width characters
        if line:
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def _split_title_block(block: list[str]) -> tuple[str, dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    for index, line in enumerate(block[1:], start=1):
        match = _HEADER.fullmatch(line)
        key = _KEYS.get(match.group(1).lower()) if match else None
        if match is None or key is None:
            return block[0], headers, block[index:]
        headers[key] = match.group(2).strip()
    return block[0], headers, []


def _entry(title: str, headers: dict[str, str], summary_lines: list[str]) -> Entry:
    url = _url(headers.get("url"), title)
    return Entry(
        title=title,
        summary=" ".join(summary_lines),
        url=url,
        guid=headers.get("guid") or None,
        published_at=_timestamp(headers.get("date"), title),
        language=_language(headers.get("language"), title),
        categories=_topics(headers.get("topics", "")),
        image=_image(headers.get("image"), url, title),
        alternates=_translation(headers.get("translation"), title),
    )


def _translation(value: str | None, title: str) -> tuple[Alternate, ...]:
    if not value:
        return ()
    if match := _TRANSLATION_ID.fullmatch(value):
        return (Alternate(guid=match.group(1).strip()),)
    url = _url(value, title)
    return (Alternate(url=url),) if url else ()


def _image(value: str | None, base: str | None, title: str) -> Image | None:
    if not value:
        return None
    found = image(value, base=base)
    if found is None:
        log.warning(
            "listing: ignoring image %r under %r (not a public http(s) image)", value, title
        )
    return found


def _url(value: str | None, title: str) -> str | None:
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        log.warning("listing: ignoring URL %r under %r (not an http(s) address)", value, title)
        return None
    return value


def _timestamp(value: str | None, title: str) -> int | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    except (ValueError, OverflowError):
        log.warning("listing: ignoring date %r under %r (use YYYY-MM-DD)", value, title)
        return None


def _language(value: str | None, title: str) -> str | None:
    if not value:
        return None
    language = normalize_language(value)
    if language is None:
        log.warning("listing: ignoring language %r under %r (use en or es)", value, title)
    return language


def _topics(value: str) -> tuple[str, ...]:
    topics = (clean_title(topic) for topic in _LIST_SEPARATOR.split(value))
    return tuple(dict.fromkeys(topic for topic in topics if topic))
