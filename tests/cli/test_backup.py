"""`python -m bot backup FILE`: reads the database and nothing more, checks the copy,
and says plainly when the destination is the problem."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from bot.config import Settings
from bot.store.db import Database, bundled_migrations
from tests.cli.test_cli import run

OLD_VERSION = 5


def _old_database(path: Path) -> None:
    """A database an older bot left: schema version 5, and two articles."""

    async def make() -> None:
        older = [m for m in bundled_migrations() if m.version <= OLD_VERSION]
        db = await Database.open(path, migrations=older)
        try:
            async with db.transaction() as tx:
                await tx.executemany(
                    "INSERT INTO articles (source, title, language, published_at, fetched_at,"
                    " content_hash) VALUES ('old.txt', ?, 'en', 0, 0, ?)",
                    [("Old article one", "h1"), ("Old article two", "h2")],
                )
        finally:
            await db.close()

    asyncio.run(make())


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0])


def test_a_backup_leaves_an_older_database_as_it_was(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _old_database(settings.database_path)
    copy = tmp_path / "backups" / "copy.sqlite3"
    copy.parent.mkdir()
    code, out, err = run(capsys, "backup", str(copy))
    assert (code, err) == (0, "")
    assert out == f"Backed up {settings.database_path} to {copy}\n"
    assert _version(settings.database_path) == OLD_VERSION, "the source was not migrated"
    assert _version(copy) == OLD_VERSION
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        titles = [row[0] for row in conn.execute("SELECT title FROM articles ORDER BY id")]
    assert titles == ["Old article one", "Old article two"]
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.sqlite3"], "no leftovers"


def test_a_backup_of_the_live_database_holds_its_articles(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "topics")[0] == 0  # creates and seeds the database
    copy = tmp_path / "copy.sqlite3"
    assert run(capsys, "backup", str(copy))[0] == 0
    os.environ["DATABASE_PATH"] = str(copy)  # the settings fixture's monkeypatch restores it
    code, out, _ = run(capsys, "search", "juarez")
    assert code == 0
    assert "Death of Migrants in Ciudad Juárez" in out


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("missing/copy.sqlite3", "missing is not a folder"),
        ("a-file/copy.sqlite3", "a-file is not a folder"),
        ("read-only/copy.sqlite3", "Permission denied"),
    ],
)
def test_a_bad_destination_is_one_line_naming_it(
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    where: str,
    expected: str,
) -> None:
    assert run(capsys, "topics")[0] == 0
    (tmp_path / "a-file").write_text("not a folder", "utf-8")
    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(0o500)
    destination = tmp_path / where
    if where.startswith("read-only") and os.access(locked, os.W_OK):
        # Root may write anywhere a mode forbids; not in sysfs.
        if not Path("/sys/kernel").is_dir():
            pytest.skip("no folder this user may not write to")
        destination = Path("/sys/copy.sqlite3")
    try:
        code, out, err = run(capsys, "backup", str(destination))
    finally:
        locked.chmod(0o700)
    assert code == 1
    assert out == ""
    assert err.startswith(f"error: cannot write the backup {destination}: "), err
    assert expected in err
    assert err.count("\n") == 1
    assert not destination.exists()


def test_no_database_yet_is_one_line(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "backup", str(tmp_path / "copy.sqlite3"))
    assert code == 1
    assert err == f"error: there is no database at {settings.database_path}\n"
    assert not settings.database_path.exists(), "a backup creates no database"
