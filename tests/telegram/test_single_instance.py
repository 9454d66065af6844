"""One bot per database: a second `run` or `chat` refuses to start, in one line,
and the first keeps going; the operator's commands still work beside it."""

from __future__ import annotations

import asyncio
import os
import pty
import sys
from pathlib import Path

import pytest

from bot.chat import bot_on_emulator
from bot.store.db import StoreError
from bot.store.lock import InstanceLock, lock_path
from tests.harness import Harness
from tests.telegram.test_run_modes import ROOT, _read_until

LISTING = "Lock-step article about tenants\n\nA summary of the tenants' strike.\n"


def _env(harness: Harness, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_", "ADMIN_"))}
    env.update(
        DATABASE_PATH=str(harness.services.settings.database_path),
        BOT_TOKEN=harness.emulator.token,
        TELEGRAM_BASE_URL=harness.emulator.base_url,
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


async def _bot(harness: Harness, *args: str, cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=_env(harness),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _still_answers(harness: Harness) -> None:
    user = harness.emulator.add_user("Still here")
    reply = await harness.say(user.id, user.id, "/help")
    assert "/search" in (reply.text or "")


async def test_a_second_run_refuses_in_one_line_and_the_tools_still_work(
    harness: Harness, tmp_path: Path
) -> None:
    database = harness.services.settings.database_path
    code, out, err = await _bot(harness, "run", cwd=tmp_path)
    assert code == 1, err
    assert out == ""
    # INFO lines aside (the bot says it is starting), the refusal is one line.
    assert [line for line in err.splitlines() if " INFO " not in line] == [
        f"error: another bot is already running on {database} (process {os.getpid()});"
        f" stop it first (lock file {lock_path(database)})"
    ]
    await _still_answers(harness)

    listing = tmp_path / "listing.txt"
    listing.write_text(LISTING, "utf-8")
    code, out, err = await _bot(harness, "ingest", str(listing), cwd=tmp_path)
    assert (code, err) == (0, "")
    assert "1 article read, 1 new" in out
    code, out, err = await _bot(harness, "search", "tenants strike", cwd=tmp_path)
    assert (code, err) == (0, "")
    assert "Lock-step article about tenants" in out
    copy = tmp_path / "copy.sqlite3"
    code, out, err = await _bot(harness, "backup", str(copy), cwd=tmp_path)
    assert (code, err) == (0, ""), err
    assert copy.exists()
    await _still_answers(harness)


async def test_a_second_bot_in_the_same_process_is_refused_too(harness: Harness) -> None:
    """The local chat mode and the tests start the bot this way (the store opened by
    the bot itself): refused before the store is opened, the first bot untouched."""
    settings = harness.services.settings
    with pytest.raises(StoreError, match="another bot is already running on"):
        async with bot_on_emulator(harness.emulator, settings):
            pass
    await _still_answers(harness)


async def test_the_local_chat_refuses_beside_a_running_bot(
    harness: Harness, tmp_path: Path
) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: an operator typing `python -m bot chat` in a terminal
        os.chdir(tmp_path)
        os.execvpe(sys.executable, [sys.executable, "-m", "bot", "chat"], _env(harness))
    try:
        output = await asyncio.to_thread(_read_until, fd, "stop it first", 60)
        _, status = await asyncio.to_thread(os.waitpid, pid, 0)
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 1
    assert "error: another bot is already running on" in output
    assert "Traceback" not in output
    await _still_answers(harness)


async def test_the_lock_goes_with_the_bot(harness: Harness, tmp_path: Path) -> None:
    database = tmp_path / "other.sqlite3"
    first = InstanceLock.acquire(database)
    with pytest.raises(StoreError):
        InstanceLock.acquire(database)
    first.release()
    first.release()  # twice is harmless
    again = InstanceLock.acquire(database)
    assert again.held
    again.release()
    assert not again.held
