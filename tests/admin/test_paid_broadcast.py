"""Paid broadcasts through the real bot and the emulator: offered only when
PAID_BROADCAST_RATE is on, sent with allow_paid_broadcast only when chosen, billed
in Stars by the emulator, paused as Telegram says when it answers 429."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.emulator import Emulator, FloodLimits, MessageRecord
from bot.emulator.journal import RequestRecord
from bot.store import broadcasts
from tests.admin.conftest import ADMIN, add_readers, running
from tests.harness import Harness


@pytest.fixture
async def paid_harness(emulator: Emulator, admin_settings: Settings) -> AsyncIterator[Harness]:
    paid = admin_settings.model_copy(
        update={"send_rate_per_second": 30.0, "paid_broadcast_rate": 1000}
    )
    async with running(emulator, paid) as harness:
        yield harness


async def _prompt(harness: Harness, text: str) -> MessageRecord:
    harness.emulator.send_user_message(ADMIN, ADMIN, f"/broadcast {text}")
    return await harness.emulator.wait_for_bot_message(ADMIN, lambda m: bool(m.buttons))


def _copies(emulator: Emulator, text: str) -> list[RequestRecord]:
    """The accepted requests that sent `text` (the preview, and each recipient's copy)."""
    return [r for r in emulator.calls("sendMessage") if r.ok and r.param("text") == text]


def _flagged(record: RequestRecord) -> bool:
    return record.param("allow_paid_broadcast") is True


async def test_paid_broadcast_goes_with_the_flag_and_is_billed(paid_harness: Harness) -> None:
    harness = paid_harness
    emulator, db = harness.emulator, harness.services.db
    await add_readers(harness.services, emulator, 50)
    text = "Breaking: the paid edition"

    prompt = await _prompt(harness, text)
    labels = [b["text"] for b in prompt.buttons]
    # 51 chats (the readers and the admin): 5.1 Stars, rounded up; 51/30 s free.
    assert labels == ["✅ Send · about 2 s", "⭐ Send paid · 6 ⭐ · about 0 s", "✖ Cancel"]

    await harness.press(prompt, text="⭐")
    await harness.edited(prompt, "Stars spent so far")
    final = await harness.edited(prompt, "finished")
    assert "Sent 51 · blocked 0 · failed 0 (of 51)" in (final.text or "")
    assert "⭐ Paid broadcast: 5.1 Stars spent" in (final.text or "")
    assert "Paused" not in (final.text or "")

    preview, *copies = _copies(emulator, text)
    assert not _flagged(preview), "the admin's preview is an ordinary reply"
    assert len(copies) == 51
    assert all(_flagged(r) for r in copies)
    others = [r for r in emulator.calls("sendMessage") if r.param("text") != text]
    assert others, "the prompt and other replies"
    assert not any(_flagged(r) for r in others), "nothing else is sent paid"
    assert (emulator.paid_messages, emulator.stars_spent) == (51, 5.1)
    stored = await broadcasts.get(db, 1)
    assert stored is not None
    assert stored.paid


async def test_free_broadcast_never_carries_the_flag(paid_harness: Harness) -> None:
    harness = paid_harness
    emulator = harness.emulator
    await add_readers(harness.services, emulator, 20)
    text = "An ordinary announcement"

    prompt = await _prompt(harness, text)
    await harness.press(prompt, text="✅ Send")
    final = await harness.edited(prompt, "finished")
    assert "Sent 21" in (final.text or "")
    assert "Stars" not in (final.text or "")
    copies = _copies(emulator, text)
    assert len(copies) == 22
    assert not any(_flagged(r) for r in emulator.calls("sendMessage"))
    assert emulator.paid_messages == 0
    stored = await broadcasts.get(harness.services.db, 1)
    assert stored is not None
    assert not stored.paid


async def test_no_paid_option_while_the_rate_is_off(
    emulator: Emulator, admin_settings: Settings
) -> None:
    paid = admin_settings.model_copy(update={"paid_broadcast_rate": 1000})
    async with running(emulator, paid) as harness:
        await add_readers(harness.services, emulator, 5)
        offered = await _prompt(harness, "Drafted while paid broadcasts were on")
        assert any("⭐" in b["text"] for b in offered.buttons)

    async with running(emulator, admin_settings) as harness:  # PAID_BROADCAST_RATE=0 now
        query = await harness.press(offered, text="⭐")
        assert "Paid broadcasts are off" in (emulator.callback_answer(query).text or "")
        stored = await broadcasts.get(harness.services.db, 1)
        assert stored is not None
        assert stored.state == "draft", "nothing was queued"

        prompt = await _prompt(harness, "Free only")
        assert [b["text"] for b in prompt.buttons] == ["✅ Send · about 0 s", "✖ Cancel"]
        await harness.press(offered, text="✅ Send")
        await harness.edited(offered, "finished")
    assert len(_copies(emulator, "Drafted while paid broadcasts were on")) == 1 + 6
    assert not any(_flagged(r) for r in emulator.calls("sendMessage"))
    assert emulator.paid_messages == 0


async def test_a_429_pauses_a_paid_broadcast_and_the_summary_says_so(
    emulator: Emulator, paid_harness: Harness
) -> None:
    harness = paid_harness
    # Telegram lets this bot send far fewer paid messages a second than it asks for:
    # it answers 429 with retry_after, the broadcast waits that long, then goes on.
    emulator.limits = FloodLimits(paid_per_bot_per_second=8)
    emulator.enforce_limits = True
    await add_readers(harness.services, emulator, 24)
    text = "Too fast for Telegram"

    prompt = await _prompt(harness, text)
    await harness.press(prompt, text="⭐")

    def summary() -> str | None:
        shown = emulator.message(ADMIN, prompt.message_id)
        return shown.text if shown is not None and "finished" in (shown.text or "") else None

    final = await emulator.wait_for(summary, timeout=60)
    assert "Sent 25 · blocked 0 · failed 0 (of 25)" in final
    assert emulator.stats().flood_429 > 0
    refused = [r for r in emulator.calls("sendMessage") if r.status == 429]
    assert "paid_per_bot_per_second" in {r.detail for r in refused}
    stored = await broadcasts.get(harness.services.db, 1)
    assert stored is not None
    assert stored.paused_seconds >= 1.0, "each 429 asked for at least a second"
    assert "⏸ Paused" in final
    assert "by Telegram" in final
    copies = _copies(emulator, text)[1:]
    assert len(copies) == 25, "each chat once, despite the refusals"
    assert emulator.paid_messages == 25
