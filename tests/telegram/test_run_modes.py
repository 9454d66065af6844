"""`python -m bot run` as an operator starts it: no token, a terminal, a webhook."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bot.emulator import SECRET_HEADER, Emulator
from tests.harness import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_", "ADMIN_"))}
    env.update(DATABASE_PATH=str(tmp_path / "bot.sqlite3"), PYTHONPATH=str(ROOT), **extra)
    return env


def test_no_token_and_no_terminal_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "BOT_TOKEN" in lines[0]
    assert ".env.example" in lines[0]


def _read_until(fd: int, needle: str, timeout: float) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{needle!r} not seen; got {seen.decode(errors='replace')[-500:]}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen.decode(errors="replace")


def test_no_token_in_a_terminal_opens_the_local_chat(tmp_path: Path) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command an operator types
        os.chdir(tmp_path)
        os.execvpe(sys.executable, [sys.executable, "-m", "bot", "run"], _env(tmp_path))
    try:
        _read_until(fd, "Hello", timeout=60)
        os.write(fd, b"/search juarez\n")
        output = _read_until(fd, "La muerte de Migrantes", timeout=30)
        assert "Death of Migrants in Ciudad" in output
        os.write(fd, b"1\n")  # the first button of the last message: "More" or a topic
        os.write(fd, b"/quit\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.close(fd)


SECRET = "webhook-secret-0123456789-abcdefghij"  # Telegram's charset, at least 32 characters


def _hostile_update(update_id: int, chat_id: int, text: str, padding: int = 0) -> dict[str, Any]:
    """An update as an attacker who found the webhook URL would forge it."""
    message: dict[str, Any] = {
        "message_id": 10_000 + update_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Eve"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Eve"},
        "text": text,
    }
    if padding:
        message["padding"] = "x" * padding
    return {"update_id": update_id, "message": message}


@asynccontextmanager
async def _bot_on_a_webhook(
    tmp_path: Path, emulator: Emulator, logs: list[str]
) -> AsyncIterator[tuple[str, int]]:
    """`python -m bot run` in webhook mode on the emulator; the hook's URL and the bot's pid."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    env = _env(
        tmp_path,
        BOT_TOKEN=emulator.token,
        TELEGRAM_BASE_URL=emulator.base_url,
        WEBHOOK_URL=url,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=str(port),
        LOG_LEVEL="DEBUG",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    # Read the logs as they come, so a chatty DEBUG log never blocks the bot on a full pipe.
    reading = asyncio.create_task(process.stdout.read())
    try:
        await emulator.wait_for(lambda: emulator.webhook, timeout=60)
        yield url, process.pid
    finally:
        process.terminate()
        output = await asyncio.wait_for(reading, timeout=30)
        await process.wait()
        logs.append(output.decode(errors="replace"))


async def test_webhook_mode_checks_the_secret_and_never_logs_it(tmp_path: Path) -> None:
    logs: list[str] = []
    async with Emulator() as emulator, _bot_on_a_webhook(tmp_path, emulator, logs) as (url, _):
        assert emulator.webhook is not None
        assert emulator.webhook.secret_token == SECRET
        ann = emulator.add_user("Ann")
        emulator.send_user_message(ann.id, ann.id, "/search juarez")
        reply = await emulator.wait_for_bot_message(ann.id, timeout=30)
        assert "Juárez" in (reply.text or "")

        eve = emulator.add_user("Eve")
        near_miss = SECRET[:-1] + ("a" if SECRET[-1] != "a" else "b")
        header = SECRET_HEADER.encode()
        forged: dict[str, dict[bytes, bytes]] = {
            "guess": {header: b"guess"},
            "missing": {},
            "one character off": {header: near_miss.encode()},
            "a prefix": {header: SECRET[:-1].encode()},
            "longer": {header: SECRET.encode() + b"x"},
            "not ASCII": {header: SECRET[:-1].encode() + "é".encode()},
        }
        async with httpx.AsyncClient() as client:
            for number, (name, headers) in enumerate(forged.items(), start=900):
                update = _hostile_update(number, eve.id, "/help")
                answer = await client.post(url, json=update, headers=headers)
                assert answer.status_code == 403, name
        # The emulator delivers with the right secret: the bot answers those, and only those.
        emulator.send_user_message(eve.id, eve.id, "/start")
        await emulator.wait_for_bot_message(eve.id, timeout=30)
        emulator.send_user_message(eve.id, eve.id, "/search juarez")
        await emulator.wait_for_bot_message(eve.id, timeout=30)
        assert len(emulator.bot_messages(eve.id)) == 2
    output = logs[0]
    assert " ERROR " not in output
    assert "Traceback" not in output
    assert emulator.token not in output
    assert emulator.token.split(":")[1] not in output
    assert SECRET not in output


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory so far, in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


async def test_webhook_refuses_an_oversized_body_without_buffering_it(tmp_path: Path) -> None:
    """Telegram's updates are kilobytes; a body past 1 MiB is cut off, not held in memory."""
    logs: list[str] = []
    async with Emulator() as emulator, _bot_on_a_webhook(tmp_path, emulator, logs) as (url, pid):
        eve = emulator.add_user("Eve")
        emulator.send_user_message(eve.id, eve.id, "/search juarez")  # warm the bot up
        await emulator.wait_for_bot_message(eve.id, timeout=30)
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        announced = json.dumps(_hostile_update(800, eve.id, "/help", padding=2 << 20)).encode()

        head, tail = json.dumps(_hostile_update(801, eve.id, "/help", padding=1)).split('"x"')

        async def streamed() -> AsyncIterator[bytes]:
            """64 MiB of valid JSON, chunked: no Content-Length to refuse it by."""
            yield f'{head}"'.encode()
            for _ in range(1024):
                yield b"x" * (64 << 10)
            yield f'"{tail}'.encode()

        before = _peak_rss(pid)
        async with httpx.AsyncClient(timeout=60) as client:
            for request in (
                client.build_request("POST", url, content=announced, headers=headers),
                client.build_request("POST", url, content=streamed(), headers=headers),
            ):
                try:
                    answer = await client.send(request)
                except httpx.TransportError:
                    pass  # the server may cut the connection while the body still streams in
                else:
                    assert answer.status_code == 413
        grown = _peak_rss(pid) - before
        # Neither update was handled: the next reply in Eve's chat is the one to /start.
        emulator.send_user_message(eve.id, eve.id, "/start")
        await emulator.wait_for_bot_message(eve.id, timeout=30)
        emulator.send_user_message(eve.id, eve.id, "/search juarez")
        await emulator.wait_for_bot_message(eve.id, timeout=30)
        assert len(emulator.bot_messages(eve.id)) == 3
    assert grown < 16 << 20, f"the bot's peak memory grew by {grown >> 20} MiB"
    assert "Traceback" not in logs[0]


def test_a_weak_webhook_secret_stops_the_start_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=_env(
            tmp_path,
            BOT_TOKEN="123:abc",
            TELEGRAM_BASE_URL=f"http://127.0.0.1:{free_port()}/bot",
            WEBHOOK_URL="https://bot.example.org/hook",
            WEBHOOK_SECRET="short-secret",
        ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "WEBHOOK_SECRET" in lines[0]
    assert "32" in lines[0]
    assert "short-secret" not in done.stderr
