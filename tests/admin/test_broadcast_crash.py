"""A broadcast survives kill -9: the restarted bot finishes it, resumes the
progress report, and no chat gets more than one duplicate; a paid one resumes
paid."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.emulator import Emulator
from bot.runtime import open_content
from bot.services import Services
from tests.admin.conftest import ADMIN, add_readers

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Crash-proof announcement"


def _env(settings: Settings, emulator: Emulator, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_PATH=str(settings.database_path),
        FEEDS_PATH=str(settings.feeds_path),
        BOT_TOKEN=emulator.token,
        TELEGRAM_BASE_URL=emulator.base_url,
        ADMIN_IDS=str(ADMIN),
        SEND_RATE_PER_SECOND="25",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


async def _start(
    settings: Settings, emulator: Emulator, cwd: Path, **extra: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=cwd,
        env=_env(settings, emulator, **extra),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


@dataclass
class Resumed:
    """A broadcast killed with SIGKILL midway, then finished by a restarted bot."""

    readers: list[int]
    counts: list[int]  # copies each reader got
    summary: str  # the admin's progress message once finished


async def _kill_midway_and_resume(
    emulator: Emulator,
    settings: Settings,
    cwd: Path,
    *,
    text: str,
    button: str,
    **extra: str,
) -> Resumed:
    emulator.enforce_limits = True
    emulator.add_user("Ada", user_id=ADMIN, language_code="en")
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        readers = await add_readers(services, emulator, 120)
    finally:
        await content.db.close()

    def copies(chat_id: int) -> int:
        return sum(1 for m in emulator.bot_messages(chat_id) if m.text == text)

    def reached() -> int:
        return sum(1 for chat_id in readers if copies(chat_id))

    bot = await _start(settings, emulator, cwd, **extra)
    try:
        await emulator.wait_for(lambda: emulator.polling or None, timeout=30)
        emulator.send_user_message(ADMIN, ADMIN, f"/broadcast {text}")
        prompt = await emulator.wait_for_bot_message(ADMIN, lambda m: bool(m.buttons), timeout=30)
        emulator.press_button(ADMIN, prompt.message_id, button)
        await emulator.wait_for(lambda: reached() >= 30 or None, timeout=60)
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
    assert reached() < len(readers), "the kill should land in the middle of the broadcast"

    def finished() -> str | None:
        message = emulator.message(ADMIN, prompt.message_id)
        shown = message.text if message is not None else None
        return shown if shown and "finished" in shown else None

    bot = await _start(settings, emulator, cwd, **extra)
    try:
        summary = await emulator.wait_for(finished, timeout=60)
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=30)
    return Resumed(readers, [copies(chat_id) for chat_id in readers], summary)


async def test_kill_9_mid_broadcast_then_restart(
    emulator: Emulator, admin_settings: Settings, tmp_path: Path
) -> None:
    resumed = await _kill_midway_and_resume(
        emulator, admin_settings, tmp_path, text=TEXT, button="ab:c:1"
    )
    assert min(resumed.counts) >= 1
    assert max(resumed.counts) <= 2, "at most one duplicate per chat per crash"
    assert f"(of {len(resumed.readers) + 1})" in resumed.summary
    assert emulator.stats().flood_429 == 0


async def test_kill_9_mid_paid_broadcast_resumes_it_paid(
    emulator: Emulator, admin_settings: Settings, tmp_path: Path
) -> None:
    text = "Paid and crash-proof"
    # A paid budget of 40 a second (the bot's own choice, under Telegram's 1,000):
    # slow enough that the kill lands mid-broadcast.
    resumed = await _kill_midway_and_resume(
        emulator, admin_settings, tmp_path, text=text, button="ab:p:1", PAID_BROADCAST_RATE="40"
    )
    counts = resumed.counts
    assert min(counts) >= 1
    assert max(counts) <= 2, "at most one duplicate per chat per crash"
    assert f"(of {len(resumed.readers) + 1})" in resumed.summary
    admin_copies = sum(1 for m in emulator.bot_messages(ADMIN) if m.text == text)
    sent = [r for r in emulator.calls("sendMessage") if r.ok and r.param("text") == text]
    assert len(sent) == sum(counts) + admin_copies, "the readers, the admin's preview and copy"
    assert sum(r.param("allow_paid_broadcast") is True for r in sent) == len(sent) - 1, (
        "every copy, before the crash and after it, went paid"
    )
    assert emulator.paid_messages == len(sent) - 1
    assert "Stars spent" in resumed.summary
