"""The database under stress: another writer holding it, a full disk, a schema
from the future. Clear one-line errors, never a corrupt file, nothing lost."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.runtime import open_content
from bot.store import articles
from bot.store.db import Database, StoreError


def _listing(tmp_path: Path, count: int, prefix: str = "Article") -> Path:
    path = tmp_path / f"{prefix}.txt"
    blocks = [
        f"{prefix} number {n} about students\n\nSummary {n} on campus life." for n in range(count)
    ]
    path.write_text("\n\n".join(blocks), "utf-8")
    return path


def test_a_locked_database_is_a_clear_error_and_loses_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["topics"]) == 0  # creates and seeds the database
    capsys.readouterr()
    blocker = sqlite3.connect(settings.database_path)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        code = main(["ingest", str(_listing(tmp_path, 3))])
    finally:
        blocker.rollback()
        blocker.close()
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: database is busy or unwritable: database is locked")
    assert err.count("\n") == 1
    assert main(["ingest", str(_listing(tmp_path, 3))]) == 0
    assert "3 articles read, 3 new" in capsys.readouterr().out


async def test_a_full_disk_fails_cleanly_and_recovers(settings: Settings, tmp_path: Path) -> None:
    content = await open_content(settings)
    db = content.db
    try:
        before = await articles.count(db)
        async with db.transaction() as tx:
            pages = (await (await tx.execute("PRAGMA page_count")).fetchone())[0]
            await tx.execute(f"PRAGMA max_page_count = {pages + 2}")
        entries = [Entry(title=f"Big {n}", summary="x " * 2000) for n in range(200)]
        with pytest.raises(StoreError, match="database or disk is full"):
            await ingest(db, entries, source="big", catalogue=content.catalogue, now=1)
        assert await articles.count(db) == before  # the batch rolled back whole
        assert await db.fetchval("PRAGMA integrity_check") == "ok"
        async with db.transaction() as tx:
            await tx.execute("PRAGMA max_page_count = 1073741823")
        report = await ingest(db, entries, source="big", catalogue=content.catalogue, now=1)
        assert report.new == 200
    finally:
        await db.close()


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    db = await Database.open(path)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"
        )
    await db.close()
    with pytest.raises(StoreError, match="newer than this program knows"):
        await Database.open(path)


async def test_concurrent_writers_queue_instead_of_failing(settings: Settings) -> None:
    content = await open_content(settings)
    try:
        batches = [
            [Entry(title=f"Batch {b} item {n}", summary=f"Text {b}-{n}") for n in range(50)]
            for b in range(10)
        ]
        reports = await asyncio.gather(
            *(
                ingest(content.db, batch, source=f"s{b}", catalogue=content.catalogue, now=1)
                for b, batch in enumerate(batches)
            )
        )
        assert sum(report.new for report in reports) == 500
    finally:
        await content.db.close()
