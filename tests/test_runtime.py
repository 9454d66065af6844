"""Opening the content at start-up: its cost must not grow with the archive."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.runtime import open_content
from bot.store import articles
from bot.store.articles import NewArticle

ARCHIVE = 20_000
PROC_IO = Path("/proc/self/io")


def bytes_read() -> int:
    """Bytes this process has read through read(2) and pread(2), the database thread's
    reads included: SQLite reads every page it misses in its cache that way."""
    for line in PROC_IO.read_text().splitlines():
        name, _, value = line.partition(":")
        if name == "rchar":
            return int(value)
    raise AssertionError("no rchar in /proc/self/io")


def archive(count: int) -> list[NewArticle]:
    return [
        NewArticle(
            source="archive",
            guid=f"archive-{n}",
            url=f"https://example.org/{n}",
            title=f"Story {n}",
            summary="",
            language="en",
            published_at=1_700_000_000 + n,
            fetched_at=1_700_000_000 + n,
            content_hash=f"hash-{n}",
            title_en=f"story {n}",
            title_es="",
            summary_en="",
            summary_es="",
            topics=(),
        )
        for n in range(count)
    ]


@pytest.mark.skipif(not PROC_IO.exists(), reason="needs Linux's /proc/self/io")
async def test_opening_a_large_archive_reads_a_bounded_part_of_it(settings: Settings) -> None:
    """The emptiness check before seeding once counted every article, reading a whole
    index at each start: tens of MB on a million articles, and page cache kept."""
    content = await open_content(settings)
    await articles.insert(content.db, archive(ARCHIVE))
    await content.db.close()

    before = bytes_read()
    content = await open_content(settings)
    read = bytes_read() - before
    await content.db.close()

    # The schema, the topics, the migrations' files and the few pages the checks need
    # (about 80 KB); counting the articles read 650 KB more here.
    assert read < 256 * 1024
