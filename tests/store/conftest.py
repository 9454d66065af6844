"""The store's tests run on both engines: every test that takes `db` runs once on a
SQLite file and once on a PostgreSQL database of its own, asserting the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.db import Database
from bot.store.sqlite import SQLiteDatabase


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    """A migrated SQLite store, for the tests of what only SQLite has (its
    progress handler, its query plans, its reader thread)."""
    database = await SQLiteDatabase.connect(tmp_path / "bot.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty store: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        database = await Database.open(tmp_path / "bot.sqlite3")
    else:
        database = await Database.open(request.getfixturevalue("postgres_url"))
    try:
        yield database
    finally:
        await database.close()
