"""`python -m bot doctor`: each thing that stops a bot from running is named, with exit 1.

The doctor runs as the operator runs it — `main()` on its own event loop in a
worker thread (and once as `python -m bot` in a subprocess) — against the
emulator as the Bot API on 127.0.0.1, its feed site as the feeds, and real
SQLite files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from bot.config import Settings
from bot.emulator import Emulator
from bot.runtime import open_content
from bot.store.db import Database, bundled_migrations
from tests.cli.test_cli import RSS

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s" * 32


@pytest.fixture
def env(
    settings: Settings, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A healthy setup: the emulator's token and URL, one feed it serves, a migrated
    database. Tests break one thing each (the `settings` fixture cleared the rest)."""
    emulator.feeds.publish("news.xml", RSS)
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feed]]\nurl = "{emulator.feed_url("news.xml")}"\n', "utf-8")
    values = {
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_BASE_URL": emulator.base_url,
        "FEEDS_PATH": str(feeds),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


async def _migrated(settings: Settings) -> None:
    content = await open_content(settings)
    await content.db.close()


async def doctor(capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
    """`python -m bot doctor` in-process, beside the emulator's event loop."""
    code = await asyncio.to_thread(main, ["doctor", *options])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out


def _lines(out: str, mark: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(mark)]


async def test_a_healthy_setup_passes_every_check(
    env: dict[str, str],
    settings: Settings,
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _migrated(settings)
    code, out = await doctor(capsys)
    assert code == 0, out
    assert _lines(out, "✗") == []
    checks = {line.split()[1] for line in _lines(out, "✓")}
    assert checks == {"settings", "telegram", "webhook", "database", "disk", "feeds"}
    assert "@digest_test_bot" in out
    assert "1 feed answers" in out
    assert out.rstrip().endswith("All checks passed.")
    assert [len(emulator.calls(m)) for m in ("getMe", "getWebhookInfo")] == [1, 1]
    assert emulator.feeds.hits["news.xml"] == 1


async def test_json_for_scripts(
    env: dict[str, str],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _migrated(settings)
    code, out = await doctor(capsys, "--json")
    report = json.loads(out)
    assert (code, report["ok"]) == (0, True)
    assert {c["status"] for c in report["checks"]} == {"ok"}
    monkeypatch.setenv("BOT_TOKEN", "999:wrong-token")
    code, out = await doctor(capsys, "--json")
    report = json.loads(out)
    assert (code, report["ok"]) == (1, False)
    [problem] = [c for c in report["checks"] if c["status"] == "problem"]
    assert problem["check"] == "telegram"
    assert "999:wrong-token" not in out


async def test_the_command_line_itself(
    env: dict[str, str], settings: Settings, emulator: Emulator
) -> None:
    """`python -m bot doctor --json` as a supervisor's script runs it."""
    await _migrated(settings)
    environment = {**os.environ, **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        "--json",
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, (out, err)
    assert json.loads(out)["ok"] is True
    assert err == b""


async def test_no_token_is_reported_and_telegram_is_not_asked(
    env: dict[str, str],
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BOT_TOKEN")
    code, out = await doctor(capsys)
    assert code == 1
    assert _lines(out, "✗ telegram") == [
        "✗ telegram  BOT_TOKEN is not set (getMe skipped) → get a token from @BotFather"
        " and set BOT_TOKEN; without one only the local chat mode runs"
    ]
    assert _lines(out, "– webhook")
    assert emulator.requests == []


async def test_a_wrong_token(
    env: dict[str, str],
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "999:wrong-token")
    code, out = await doctor(capsys)
    assert code == 1
    [line] = _lines(out, "✗")
    assert line.startswith(
        "✗ telegram  BOT_TOKEN is wrong (Telegram answered 401 Unauthorized) → copy the token"
    )
    assert "wrong-token" not in out


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_bot_api(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _closed_port()
    monkeypatch.setenv("TELEGRAM_BASE_URL", f"http://127.0.0.1:{port}/bot")
    code, out = await doctor(capsys)
    assert code == 1
    [line] = _lines(out, "✗")
    assert line.startswith(
        f"✗ telegram  cannot reach the Bot API at http://127.0.0.1:{port} (TELEGRAM_BASE_URL):"
        " connection refused"
    )
    assert env["BOT_TOKEN"] not in out


async def test_a_webhook_other_than_the_configured_one(
    env: dict[str, str],
    emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    code, out = await doctor(capsys)
    assert code == 1
    assert _lines(out, "✗") == [
        "✗ webhook   WEBHOOK_URL is https://bot.example.org/hook, but Telegram has no webhook"
        " → the bot registers WEBHOOK_URL when it starts: start it, or read its log if it runs"
    ]
    monkeypatch.delenv("WEBHOOK_URL")
    monkeypatch.delenv("WEBHOOK_SECRET")
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{emulator.base_url}{emulator.token}/setWebhook",
            json={"url": "http://127.0.0.1:9/elsewhere"},
        )
    assert answer.json()["ok"] is True
    code, out = await doctor(capsys)
    assert code == 1
    [line] = _lines(out, "✗")
    assert line.startswith(
        "✗ webhook   Telegram pushes updates to http://127.0.0.1:9/elsewhere,"
        " but WEBHOOK_URL is unset"
    )


def _list_feed(feeds: Path, url: str) -> None:
    with feeds.open("a", encoding="utf-8") as listing:
        listing.write(f'[[feed]]\nurl = "{url}"\n')


async def test_a_feed_that_404s(
    env: dict[str, str], emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = emulator.feed_url("gone.xml")
    _list_feed(Path(env["FEEDS_PATH"]), gone)
    code, out = await doctor(capsys)
    assert code == 1
    [line] = _lines(out, "✗")
    assert line.startswith(f"✗ feeds     {gone}: ")
    assert "404" in line
    assert "1 feed answers" in out


async def test_feeds_the_database_lists_are_checked(
    env: dict[str, str], settings: Settings, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """An admin's /feed add lives only in the database: the doctor reads it there."""
    await _migrated(settings)
    gone = emulator.feed_url("added-by-an-admin.xml")
    with sqlite3.connect(settings.database_path) as conn:
        conn.execute(
            "INSERT INTO feeds (url, origin, added_at, next_poll_at) VALUES (?, 'admin', 0, 0)",
            (gone,),
        )
    code, out = await doctor(capsys)
    assert code == 1
    [line] = _lines(out, "✗")
    assert line.startswith(f"✗ feeds     {gone}: ")


async def test_settings_that_do_not_load_are_each_named(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("DIGEST_MAX_ITEMS", "0")
    code, out = await doctor(capsys)
    assert code == 1
    problems = _lines(out, "✗")
    assert [line.split(":")[0] for line in problems] == [
        "✗ settings  DEFAULT_TIMEZONE",
        "✗ settings  DIGEST_MAX_ITEMS",
    ]
    assert "unknown IANA timezone 'Mars/Olympus'" in problems[0]
    assert {line.split()[1] for line in _lines(out, "–")} == {"telegram", "database", "feeds"}


async def test_an_older_database_is_read_and_left_as_it_was(
    env: dict[str, str], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    older = [m for m in bundled_migrations() if m.version <= 5]
    db = await Database.open(settings.database_path, migrations=older)
    await db.close()
    code, out = await doctor(capsys)
    newest = max(m.version for m in bundled_migrations())
    assert code == 0, out
    assert f"schema 5; the bot upgrades it to {newest} when it starts" in out
    with sqlite3.connect(settings.database_path) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (5,)


@contextlib.contextmanager
def _unwritable(path: Path) -> Iterator[None]:
    """`path` made unwritable for this process: chmod, or for root (whom modes do
    not stop) the immutable attribute; the test is skipped where neither holds."""
    mode = path.stat().st_mode
    immutable = os.geteuid() == 0 and shutil.which("chattr") is not None
    if immutable:
        subprocess.run(["chattr", "+i", str(path)], check=False, capture_output=True)
    else:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        probe = path / ".probe" if path.is_dir() else path
        try:
            with probe.open("ab"):
                pass
        except OSError:
            pass
        else:
            probe.unlink(missing_ok=path.is_dir())
            pytest.skip(f"cannot make {path} unwritable here")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)
        path.chmod(mode)


@pytest.mark.parametrize("what", ["file", "folder"])
async def test_a_read_only_database(
    env: dict[str, str],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    what: str,
) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    path = folder / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    await _migrated(Settings(_env_file=None))  # type: ignore[call-arg]
    with _unwritable(path if what == "file" else folder):
        code, out = await doctor(capsys)
    assert code == 1
    problems = _lines(out, "✗")
    if what == "file":
        assert [line.split(" → ")[0] for line in problems] == [
            f"✗ database  {path} is read-only for this user"
        ]
        assert _lines(out, "✓ database")  # still read: its schema and quick_check
    else:
        # Without its -shm file, which it cannot create there, SQLite cannot read it either.
        assert [line.split(" → ")[0] for line in problems] == [
            f"✗ database  the folder {folder} is not writable by this user",
            f"✗ database  cannot read the database {path}: unable to open database file",
        ]
