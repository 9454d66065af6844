"""Leadership among the bots on one store, and the store's notices between them.

On SQLite the one bot leads; on PostgreSQL whoever holds the leader lock does, on
a real server: a second contender follows, takes over when the leader stops, when
its process is killed (kill -9) and when its lock's connection is cut.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from bot.store.db import Database, locate
from bot.store.leader import (
    LEADER_LOCK,
    Leadership,
    PostgresLeadership,
    SoleLeadership,
    _connect,
    leadership_for,
    notices_for,
)
from tests.harness import ROOT, fresh_python
from tests.postgres import Server

KILLED_LEADER_REPLACED_WITHIN = 15.0
"""Seconds: how soon another bot leads once the leader dies, whatever the way."""
WAIT = 10.0  # for what follows at once (at most a retry or a check later)


@asynccontextmanager
async def contender(url: str) -> AsyncIterator[tuple[Leadership, list[bool]]]:
    """A started leadership on `url` and the changes it reported."""
    leadership = leadership_for(locate(url))
    changes: list[bool] = []
    leadership.watch(changes.append)
    await leadership.start()
    try:
        yield leadership, changes
    finally:
        await leadership.stop()


async def test_the_one_bot_on_a_sqlite_file_leads_from_the_start(tmp_path: Path) -> None:
    leadership = leadership_for(locate(tmp_path / "bot.sqlite3"))
    assert isinstance(leadership, SoleLeadership)
    assert leadership.sole
    assert leadership.leading  # before any start: nothing to ask
    await leadership.start()
    await leadership.until_leading()
    await leadership.stop()
    assert leadership.leading


def test_a_sqlite_bot_leads_without_loading_psycopg(tmp_path: Path) -> None:
    code = """
import asyncio, json, sys
from bot.store.db import Database
from bot.store.leader import leadership_for, notices_for

async def main():
    db = await Database.open("bot.sqlite3")
    leadership, notices = leadership_for(db.location), notices_for(db)
    await leadership.start()
    heard = []
    stop = await notices.listen("outbox", heard.append)
    await notices.notify("outbox", "x")
    await stop()
    await leadership.stop()
    await db.close()
    return leadership.leading, heard

leading, heard = asyncio.run(main())
print(json.dumps([leading, heard, "psycopg" in sys.modules]))
"""
    assert fresh_python(code, tmp_path, dropped=("DATABASE_",)) == [True, ["x"], False]


async def test_one_of_two_leads_and_the_other_takes_over_when_it_stops(
    postgres_url: str,
) -> None:
    async with contender(postgres_url) as (first, first_changes):
        assert first.leading  # a lone bot leads as soon as it has started
        async with contender(postgres_url) as (second, second_changes):
            assert not second.leading
            await first.stop()
            assert not first.leading
            async with asyncio.timeout(WAIT):
                await second.until_leading()
            assert second_changes == [True]
        assert second_changes == [True, False]
    assert first_changes == [True, False]


async def test_a_killed_leader_is_replaced_within_fifteen_seconds(postgres_url: str) -> None:
    code = """
import asyncio, sys
from bot.store.db import locate
from bot.store.leader import leadership_for

async def main():
    leadership = leadership_for(locate(sys.argv[1]))
    await leadership.start()
    print("leading" if leadership.leading else "following", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        postgres_url,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        assert line.strip() == b"leading"
        async with contender(postgres_url) as (leadership, changes):
            assert not leadership.leading
            child.send_signal(signal.SIGKILL)
            async with asyncio.timeout(KILLED_LEADER_REPLACED_WITHIN):
                await leadership.until_leading()
            assert changes == [True]
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


async def test_a_leader_whose_lock_connection_is_cut_stops_leading(
    postgres_url: str, postgres: Server
) -> None:
    async with contender(postgres_url) as (first, first_changes):
        assert first.leading
        async with contender(postgres_url) as (second, second_changes):
            database = postgres_url.rsplit("/", 1)[1]
            [holder] = postgres.psql(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                f" AND ((classid::bigint << 32) | objid::bigint) = {LEADER_LOCK}"
                f" AND database = (SELECT oid FROM pg_database WHERE datname = '{database}')",
                database,
            ).split()
            assert postgres.psql(f"SELECT pg_terminate_backend({holder})") == "t"
            async with asyncio.timeout(WAIT):
                await first.until_following()
            await first.stop()  # no second chance for it: the other one must take over
            async with asyncio.timeout(WAIT):
                await second.until_leading()
            assert first_changes == [True, False]
            assert second_changes == [True]


async def test_the_lock_connection_asks_the_server_to_drop_a_vanished_peer(
    postgres_url: str,
) -> None:
    """The keepalives that end a vanished leader's session are the server's own
    settings on that session."""
    conn = await _connect(locate(postgres_url), "lock")
    try:
        settings: dict[str, str] = {}
        names = ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")
        for name in (*names, "tcp_user_timeout"):
            cursor = await conn.execute(f"SHOW {name}".encode())
            row = await cursor.fetchone()
            assert row is not None
            settings[name] = row[0]
        given = conninfo_to_dict(conn.info.dsn)
    finally:
        await conn.close()
    assert settings == {
        "tcp_keepalives_idle": "5",
        "tcp_keepalives_interval": "2",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "10000",
    }
    assert (given["keepalives"], given["keepalives_idle"]) == ("1", "5")
    assert (given["keepalives_interval"], given["keepalives_count"]) == ("2", "3")


async def test_a_leader_stopped_and_started_again_leads_again(postgres_url: str) -> None:
    leadership = PostgresLeadership(locate(postgres_url))
    for _ in range(2):
        await leadership.start()
        assert leadership.leading
        await leadership.stop()
        assert not leadership.leading


async def test_a_notice_reaches_its_listeners(db: Database) -> None:
    """On PostgreSQL from another bot's notices (another connection); on SQLite, one
    bot per file, from the bot's own."""
    listening = notices_for(db)
    sending = listening if db.dialect == "sqlite" else notices_for(db)
    heard: asyncio.Queue[str] = asyncio.Queue()
    stop = await listening.listen("outbox", heard.put_nowait)
    other = await listening.listen("elsewhere", lambda payload: heard.put_nowait("wrong"))
    try:
        await sending.notify("outbox", "look")
        await sending.notify("outbox")
        async with asyncio.timeout(WAIT):
            assert [await heard.get(), await heard.get()] == ["look", ""]
        await stop()
        await other()
        await sending.notify("outbox", "unheard")
        await sending.notify("outbox", "unheard")
        if db.dialect == "sqlite":
            assert heard.empty()
    finally:
        await listening.close()
        await sending.close()


@pytest.mark.parametrize("gone", ["stop", "close"])
async def test_listening_again_after_the_last_listener_left(postgres_url: str, gone: str) -> None:
    db = await Database.open(postgres_url)
    notices = notices_for(db)
    try:
        for round_ in range(2):
            heard: asyncio.Queue[str] = asyncio.Queue()
            stop = await notices.listen("outbox", heard.put_nowait)
            await notices.notify("outbox", str(round_))
            async with asyncio.timeout(WAIT):
                assert await heard.get() == str(round_)
            if gone == "stop":
                await stop()
            else:
                await notices.close()
    finally:
        await notices.close()
        await db.close()


async def test_a_listen_halted_before_its_listener_started_still_returns(
    postgres_url: str,
) -> None:
    db = await Database.open(postgres_url)
    notices = notices_for(db)
    try:
        listening = asyncio.create_task(notices.listen("outbox", lambda payload: None))
        await asyncio.sleep(0)  # listen() has made its listener, which has not run yet
        await notices.close()
        async with asyncio.timeout(WAIT):
            await listening
    finally:
        await notices.close()
        await db.close()
