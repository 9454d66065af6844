"""Digests under Telegram's failures and a killed bot process: nothing lost,
nothing sent twice except inside the one-message window a crash allows."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.digest.dispatch import dispatch_instant
from bot.emulator import Emulator, FaultPlan, FloodLimits
from bot.runtime import open_content
from bot.services import Services
from bot.store import articles, chats
from tests.e2e.test_digests import _articles, _received_titles, _subscribers
from tests.harness import sender_of

ROOT = Path(__file__).resolve().parents[2]


async def test_faults_every_live_chat_gets_its_digest_once(
    emulator: Emulator, settings: Settings
) -> None:
    emulator.enforce_limits = True
    emulator.limits = FloodLimits(per_bot_per_second=300, per_chat_interval=1.0)
    emulator.fault_plan = FaultPlan(
        seed=3, rate_429=0.05, rate_5xx=0.02, rate_timeout=0.01, timeout_delay=6.0
    )
    fast = settings.model_copy(update={"send_rate_per_second": 280.0, "digest_max_items": 50})
    rng = random.Random(11)
    content = await open_content(fast)
    services = Services(fast, content.db, content.catalogue, run_jobs=False)
    try:
        following = await _subscribers(services, emulator, 300, rng)
        blocked = set(rng.sample(sorted(following), 9))  # 3%
        for chat_id in blocked:
            emulator.inject_chat_fault(chat_id, "blocked")
        async with bot_on_emulator(emulator, fast, services=services) as app:
            made = await _articles(services, 30, rng)
            await dispatch_instant(services, services.now())
            await asyncio.wait_for(sender_of(app).wait_empty(), timeout=120)
        stored = {a.title: set(a.topics) for a in await articles.latest(services.db, limit=1000)}
        for chat_id, chosen in following.items():
            received = _received_titles(emulator, chat_id)
            chat = await chats.get_chat(services.db, chat_id)
            assert chat is not None
            if chat_id in blocked:
                assert received == []
                assert not chat.active
                continue
            expected = sorted(title for title in made if stored[title] & chosen)
            assert sorted(received) == expected, chat_id
            assert chat.active
        faults = emulator.stats().faults
        assert sum(faults.values()) > 0, faults
    finally:
        await content.db.close()


def _bot_env(tmp_path: Path, emulator: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
        BOT_TOKEN=emulator.token,
        TELEGRAM_BASE_URL=emulator.base_url,
        LOG_LEVEL="WARNING",
    )
    return env


async def _start_bot(tmp_path: Path, emulator: Emulator) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=_bot_env(tmp_path, emulator),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_kill_9_mid_dispatch_then_restart(
    emulator: Emulator, settings: Settings, tmp_path: Path
) -> None:
    emulator.enforce_limits = True
    rng = random.Random(5)
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        following = await _subscribers(services, emulator, 200, rng)
        await _articles(services, 12, rng)
        # Everyone's daily digest was due a minute ago: the bot sends them at start-up.
        async with services.db.transaction() as tx:
            await tx.execute(
                "UPDATE targets SET digest_mode = 'daily', next_digest_at = ?",
                (services.now() - 60,),
            )
    finally:
        await content.db.close()

    def digests_seen() -> int:
        return sum(1 for chat in following if _digests(emulator, chat))

    bot = await _start_bot(tmp_path, emulator)
    try:
        await emulator.wait_for(lambda: digests_seen() >= 40 or None, timeout=90)
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
    first_run = digests_seen()
    assert first_run < len(following), "the kill should land in the middle of the dispatch"

    bot = await _start_bot(tmp_path, emulator)
    try:
        await emulator.wait_for(lambda: digests_seen() == len(following) or None, timeout=120)
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=30)

    counts = [len(_digests(emulator, chat)) for chat in following]
    assert min(counts) >= 1
    assert max(counts) <= 2, "at most one duplicate per chat per crash"
    # The restarted process does not remember what the killed one sent in its
    # last second, so a message re-sent to the same chat may meet a 429, which
    # the sender honours; at most one per message that was in flight.
    assert emulator.stats().flood_429 <= 32


def _digests(emulator: Emulator, chat_id: int) -> list[str]:
    return [
        m.text or "" for m in emulator.bot_messages(chat_id) if "daily digest" in (m.text or "")
    ]
