"""Shared fixtures: real SQLite files in temporary folders, a real PostgreSQL
server with a database of each test's own, the real seed data."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.config import DATA_DIR, Settings
from bot.delivery.ratelimiter import opt_in_to_timedelta
from bot.emulator import Emulator
from bot.runtime import Content, open_content, sync_catalogue
from bot.store.db import Database
from bot.store.sqlite import SQLiteDatabase
from bot.topics import Catalogue
from tests.digest.helpers import CATALOGUE
from tests.harness import Harness, bot_harness
from tests.postgres import Server, Unavailable
from tests.postgres import start as start_postgres

SEED = DATA_DIR / "articles.txt"


def pytest_configure() -> None:
    """Bots the tests build themselves read PTB's time spans as the bot's own do."""
    opt_in_to_timedelta()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """One real PostgreSQL server for the whole run (for each worker, under
    pytest-xdist), started when a test first asks (`tests/postgres.py`). It cannot
    start: the test fails, saying why."""
    try:
        server = start_postgres()
    except Unavailable as exc:
        pytest.fail(f"PostgreSQL for the tests: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def migrated_template(postgres: Server) -> str:
    """A PostgreSQL database migrated once; each test's database is a copy of it
    (`CREATE DATABASE … TEMPLATE`), much quicker than migrating each."""
    postgres.psql("CREATE DATABASE store_template")

    async def migrate() -> None:
        await (await Database.open(postgres.url("store_template"))).close()

    # On a thread of its own: the tests' event loop may already be running here.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, migrate()).result()
    return "store_template"


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres: Server, migrated_template: str) -> str:
    """The URL of a migrated, empty PostgreSQL store of the test's own."""
    name = f"store_{next(_databases)}"
    postgres.psql(f"CREATE DATABASE {name} TEMPLATE {migrated_template}")
    return postgres.url(name)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings isolated from the developer's `.env` and environment."""
    for name in (
        "BOT_TOKEN",
        "ADMIN_IDS",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
        "DEFAULT_TIMEZONE",
        "DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    # The tests' feed servers (and the emulator's feeds) listen on 127.0.0.1, a
    # private address: allowed here as an operator would allow a local source.
    monkeypatch.setenv("FEED_ALLOWED_HOSTS", "127.0.0.1")
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def content(settings: Settings) -> AsyncIterator[Content]:
    opened = await open_content(settings)
    try:
        yield opened
    finally:
        await opened.db.close()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    """A migrated store on a real SQLite file of its own."""
    database = await SQLiteDatabase.connect(tmp_path / "bot.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def catalogue(db: Database) -> Catalogue:
    """The bundled topic catalogue, its topics written into `db` as start-up writes them."""
    await sync_catalogue(db, CATALOGUE)
    return CATALOGUE


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """Every request the bot makes is checked as Telegram would; any invalid one fails the test."""
    async with Emulator() as running:
        yield running
        errors = running.take_protocol_errors()
    assert errors == [], errors


@pytest.fixture
async def harness(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    async with bot_harness(emulator, settings) as harness:
        yield harness
