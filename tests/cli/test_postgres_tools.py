"""The operator's tools on a PostgreSQL store: `doctor` says what the server is and
holds without changing it, `backup` points at pg_dump, and a bad DATABASE_URL is
one line on stderr."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys

import pytest

from bot.config import Settings
from bot.doctor import Status, check_database
from bot.emulator import Emulator
from bot.store.db import Database
from tests.cli.test_cli import run
from tests.postgres import Server

_numbers = itertools.count(1)


def _fresh(postgres: Server) -> str:
    name = f"tools_{next(_numbers)}"
    postgres.psql(f"CREATE DATABASE {name}")
    return postgres.url(name)


async def test_doctor_reads_the_server_without_migrating_it(
    settings: Settings, postgres: Server
) -> None:
    url = _fresh(postgres)
    settings = settings.model_copy(update={"database_url": url})
    findings, feeds = await check_database(settings)
    assert [f.status for f in findings] == [Status.OK]
    assert "PostgreSQL 15." in findings[0].detail
    assert "empty; the bot creates its tables" in findings[0].detail
    assert await _tables(postgres, url) == 0  # looked, created nothing

    await (await Database.open(url)).close()
    findings, feeds = await check_database(settings)
    assert [f.status for f in findings] == [Status.OK]
    assert "schema version" in findings[0].detail
    assert feeds == ()


async def test_doctor_names_an_unreachable_server_in_one_line(settings: Settings) -> None:
    settings = settings.model_copy(update={"database_url": "postgresql://bot:pw@127.0.0.1:1/x"})
    findings, _ = await check_database(settings)
    assert [f.status for f in findings] == [Status.PROBLEM]
    assert "Connection refused" in findings[0].detail
    assert "pw" not in findings[0].detail.replace("PostgreSQL", "")


def test_backup_of_a_postgresql_store_points_at_pg_dump(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot@127.0.0.1:1/news")
    code, _, err = run(capsys, "backup", "copy.sqlite3")
    assert code == 1
    assert err.strip().splitlines() == [
        "error: backup copies the SQLite file; back up a PostgreSQL store with pg_dump"
        " (README, Scaling out)"
    ]


def test_a_command_on_an_unreachable_server_is_one_line(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:s3cret@127.0.0.1:1/news")
    code, _, err = run(capsys, "latest")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "Connection refused" in lines[0]
    assert "s3cret" not in lines[0]


async def _tables(postgres: Server, url: str) -> int:
    name = url.rsplit("/", 1)[1]
    return int(postgres.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", name))


async def test_a_rejected_token_ends_run_with_one_line_saying_so(
    settings: Settings, emulator: Emulator
) -> None:
    env = {
        **os.environ,
        "BOT_TOKEN": "123:not-the-bot-s-token",
        "TELEGRAM_BASE_URL": emulator.base_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    text = err.decode()
    assert process.returncode == 1
    assert text.strip().splitlines()[-1] == (
        "error: Telegram rejected BOT_TOKEN; copy it again from @BotFather"
        " (python -m bot doctor checks it)"
    )
