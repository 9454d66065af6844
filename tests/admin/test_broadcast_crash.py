"""A broadcast survives kill -9: the restarted bot finishes it, resumes the
progress report, and no chat gets more than one duplicate; a paid one resumes
paid."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.config import Settings
from bot.emulator import Emulator
from bot.runtime import open_content
from bot.telegram.services import Services
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


async def test_kill_9_mid_broadcast_then_restart(
    emulator: Emulator, admin_settings: Settings, tmp_path: Path
) -> None:
    emulator.enforce_limits = True
    emulator.add_user("Ada", user_id=ADMIN, language_code="en")
    content = await open_content(admin_settings)
    services = Services(admin_settings, content.db, content.catalogue, run_jobs=False)
    try:
        readers = await add_readers(services, emulator, 120)
    finally:
        await content.db.close()

    def copies(chat_id: int) -> int:
        return sum(1 for m in emulator.bot_messages(chat_id) if m.text == TEXT)

    def reached() -> int:
        return sum(1 for chat_id in readers if copies(chat_id))

    bot = await _start(admin_settings, emulator, tmp_path)
    try:
        await emulator.wait_for(lambda: emulator.polling or None, timeout=30)
        emulator.send_user_message(ADMIN, ADMIN, f"/broadcast {TEXT}")
        prompt = await emulator.wait_for_bot_message(ADMIN, lambda m: bool(m.buttons), timeout=30)
        emulator.press_button(ADMIN, prompt.message_id, "ab:c:1")
        await emulator.wait_for(lambda: reached() >= 30 or None, timeout=60)
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
    assert reached() < len(readers), "the kill should land in the middle of the broadcast"

    def finished() -> str | None:
        message = emulator.message(ADMIN, prompt.message_id)
        text = message.text if message is not None else None
        return text if text and "finished" in text else None

    bot = await _start(admin_settings, emulator, tmp_path)
    try:
        summary = await emulator.wait_for(finished, timeout=60)
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=30)

    counts = [copies(chat_id) for chat_id in readers]
    assert min(counts) >= 1
    assert max(counts) <= 2, "at most one duplicate per chat per crash"
    assert f"(of {len(readers) + 1})" in summary
    assert emulator.stats().flood_429 == 0


async def test_kill_9_mid_paid_broadcast_resumes_it_paid(
    emulator: Emulator, admin_settings: Settings, tmp_path: Path
) -> None:
    emulator.enforce_limits = True
    emulator.add_user("Ada", user_id=ADMIN, language_code="en")
    content = await open_content(admin_settings)
    services = Services(admin_settings, content.db, content.catalogue, run_jobs=False)
    try:
        readers = await add_readers(services, emulator, 120)
    finally:
        await content.db.close()
    text = "Paid and crash-proof"
    # A paid budget of 40 a second (the bot's own choice, under Telegram's 1,000):
    # slow enough that the kill lands mid-broadcast.
    paid = {"PAID_BROADCAST_RATE": "40"}

    def copies(chat_id: int) -> int:
        return sum(1 for m in emulator.bot_messages(chat_id) if m.text == text)

    def reached() -> int:
        return sum(1 for chat_id in readers if copies(chat_id))

    bot = await _start(admin_settings, emulator, tmp_path, **paid)
    try:
        await emulator.wait_for(lambda: emulator.polling or None, timeout=30)
        emulator.send_user_message(ADMIN, ADMIN, f"/broadcast {text}")
        prompt = await emulator.wait_for_bot_message(ADMIN, lambda m: bool(m.buttons), timeout=30)
        emulator.press_button(ADMIN, prompt.message_id, "ab:p:1")
        await emulator.wait_for(lambda: reached() >= 30 or None, timeout=60)
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
    assert reached() < len(readers), "the kill should land in the middle of the broadcast"

    def finished() -> str | None:
        message = emulator.message(ADMIN, prompt.message_id)
        shown = message.text if message is not None else None
        return shown if shown and "finished" in shown else None

    bot = await _start(admin_settings, emulator, tmp_path, **paid)
    try:
        summary = await emulator.wait_for(finished, timeout=60)
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=30)

    counts = [copies(chat_id) for chat_id in readers]
    assert min(counts) >= 1
    assert max(counts) <= 2, "at most one duplicate per chat per crash"
    assert f"(of {len(readers) + 1})" in summary
    sent = [r for r in emulator.calls("sendMessage") if r.ok and r.param("text") == text]
    assert len(sent) == sum(counts) + copies(ADMIN), "the readers, the admin's preview and copy"
    assert sum(r.param("allow_paid_broadcast") is True for r in sent) == len(sent) - 1, (
        "every copy, before the crash and after it, went paid"
    )
    assert emulator.paid_messages == len(sent) - 1
    assert "Stars spent" in summary
    assert emulator.stats().flood_429 == 0
