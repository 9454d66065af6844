"""`python -m bot run` as an operator starts it: no token, a terminal, a webhook."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.emulator import SECRET_HEADER, Emulator

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_webhook_mode_checks_the_secret_and_never_logs_it(tmp_path: Path) -> None:
    secret = "webhook-secret-1234"
    port = _free_port()
    async with Emulator() as emulator:
        env = _env(
            tmp_path,
            BOT_TOKEN=emulator.token,
            TELEGRAM_BASE_URL=emulator.base_url,
            WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
            WEBHOOK_SECRET=secret,
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
        try:
            await emulator.wait_for(lambda: emulator.webhook, timeout=60)
            user = emulator.add_user("Ann")
            emulator.send_user_message(user.id, user.id, "/search juarez")
            reply = await emulator.wait_for_bot_message(user.id, timeout=30)
            assert "Juárez" in (reply.text or "")
            async with httpx.AsyncClient() as client:
                update = {
                    "update_id": 999,
                    "message": {
                        "message_id": 1,
                        "date": 0,
                        "chat": {"id": 1, "type": "private"},
                        "text": "/start",
                    },
                }
                wrong = await client.post(
                    f"http://127.0.0.1:{port}/hook", json=update, headers={SECRET_HEADER: "guess"}
                )
                missing = await client.post(f"http://127.0.0.1:{port}/hook", json=update)
            assert wrong.status_code == 403
            assert missing.status_code == 403
        finally:
            process.terminate()
            output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    logs = output.decode(errors="replace")
    # At DEBUG, PTB logs each refused request with its HTTPError 403; nothing else may fail.
    assert " ERROR " not in logs
    assert logs.count("Traceback") == logs.count("HTTPError: HTTP 403")
    assert emulator.token not in logs
    assert emulator.token.split(":")[1] not in logs
    assert secret not in logs
