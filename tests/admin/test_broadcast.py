"""Broadcasts through the real bot and the emulator: preview, confirm, progress,
blocked chats, audiences, cancel."""

from __future__ import annotations

import math

from bot.emulator import FaultPlan, MessageRecord
from bot.store import admin, broadcasts, chats, outbox, subscriptions
from bot.telegram.handlers.admin.broadcasts import PROGRESS_EVERY
from tests.admin.conftest import ADMIN, add_readers
from tests.harness import Harness


async def _confirm_prompt(harness: Harness) -> MessageRecord:
    return await harness.emulator.wait_for_bot_message(ADMIN, lambda m: bool(m.buttons))


def _copies(harness: Harness, chat_id: int, text: str) -> int:
    return sum(1 for m in harness.emulator.bot_messages(chat_id) if m.text == text)


async def test_broadcast_to_500_chats_with_some_blocked(admin_harness: Harness) -> None:
    harness = admin_harness
    emulator, db = harness.emulator, harness.services.db
    readers = await add_readers(harness.services, emulator, 500)
    blocked = set(readers[::50])
    for chat_id in blocked:
        emulator.inject_chat_fault(chat_id, "blocked")

    preview = await harness.say(ADMIN, ADMIN, "/broadcast   New issue out <today> & more")
    assert preview.text == "New issue out <today> & more"
    prompt = await _confirm_prompt(harness)
    assert "all active chats" in (prompt.text or "")
    assert "501" in (prompt.text or ""), "the readers and the admin"
    assert await outbox.depth(db) == 0, "nothing is queued before the admin confirms"

    await harness.press(prompt, text="Send")
    # 500 sends: a guard against hanging on a busy machine, not a measurement.
    final = await harness.edited(prompt, "finished", timeout=120)
    assert "Sent 491 · blocked 10 · failed 0 (of 501)" in (final.text or "")
    assert final.buttons == []

    for chat_id in readers:
        expected = 0 if chat_id in blocked else 1
        assert _copies(harness, chat_id, "New issue out <today> & more") == expected, chat_id
    for chat_id in blocked:
        chat = await chats.get_chat(db, chat_id)
        assert chat is not None
        assert not chat.active
    entries = await admin.audit_entries(db)
    assert [(e.action, e.admin_id, e.recipients) for e in entries] == [("broadcast", ADMIN, 501)]
    done = await broadcasts.get(db, 1)
    assert done is not None
    assert done.state == "done"
    assert done.reported_at is not None


async def test_reply_broadcast_copies_a_document_to_one_topic_in_one_language(
    admin_harness: Harness,
) -> None:
    harness = admin_harness
    emulator, services = harness.emulator, harness.services
    english = await add_readers(services, emulator, 4, language="en")
    spanish = await add_readers(services, emulator, 4, first_id=2_000_000, language="es")
    for chat_id in (*english[:2], *spanish[:2]):
        target = await chats.get_target(services.db, chat_id)
        assert target is not None
        await subscriptions.add(services.db, target.id, "topic", "migration", services.now())

    emulator.send_user_document(
        ADMIN, ADMIN, b"%PDF-1.4 annual report", "report.pdf", caption="Our report"
    )
    original = emulator.messages(ADMIN)[-1]
    emulator.send_user_message(
        ADMIN, ADMIN, "/broadcast topic:migración lang:es", reply_to=original.message_id
    )
    preview = await emulator.wait_for_bot_message(ADMIN)
    assert preview.document is not None
    assert preview.caption == "Our report"
    prompt = await _confirm_prompt(harness)
    assert "Migration" in (prompt.text or "")
    assert "Spanish" in (prompt.text or "")
    assert "<b>2</b>" not in (prompt.text or "")
    assert " 2 chats" in (prompt.text or "").replace("\n", " ")

    await harness.press(prompt, text="Send")
    await harness.edited(prompt, "finished")
    for chat_id in (*english, *spanish):
        copies = [m for m in emulator.bot_messages(chat_id) if m.document is not None]
        assert len(copies) == (1 if chat_id in spanish[:2] else 0), chat_id
        if copies:
            assert copies[0].caption == "Our report"


async def test_cancel_halfway_stops_the_rest(slow_admin_harness: Harness) -> None:
    harness = slow_admin_harness
    emulator, services = harness.emulator, harness.services
    readers = await add_readers(services, emulator, 150)
    text = "Slow announcement"

    def delivered() -> int:
        return sum(_copies(harness, chat_id, text) for chat_id in readers)

    await harness.say(ADMIN, ADMIN, f"/broadcast {text}")
    prompt = await _confirm_prompt(harness)
    await harness.press(prompt, text="Send")

    # A live report with a rate comes within one progress period.
    live = await harness.edited(prompt, "messages/s")
    assert "remaining" in (live.text or "")
    assert any(b["text"] == "⛔ Stop" for b in live.buttons)
    assert 0 < delivered() < len(readers)

    emulator.send_user_message(ADMIN, ADMIN, "/broadcast_cancel")
    stopped = await emulator.wait_for_bot_message(ADMIN, lambda m: "copies" in (m.text or ""))
    assert "Broadcast #1 stopped" in (stopped.text or "")
    at_cancel = delivered()
    final = await harness.edited(prompt, "stopped")
    progress = await outbox.broadcast_progress(services.db, 1)
    assert progress.remaining == 0
    assert progress.cancelled > 0
    # The admin's chat got the preview and, being in the audience, a copy.
    assert progress.sent == delivered() + _copies(harness, ADMIN, text) - 1
    # The sender keeps about `lookahead` seconds of rows waiting in the rate limiter, and
    # the stop's reply no longer waits for the admin's chat: those rows may still go.
    sender = harness.sender
    claimed = math.ceil(services.settings.send_rate_per_second * sender.lookahead) + 1
    assert delivered() <= at_cancel + claimed + 1, "only copies already claimed went out"
    assert delivered() < len(readers) // 2 + 50
    assert f"not sent {progress.cancelled}" in (final.text or "")
    assert [e.action for e in await admin.audit_entries(services.db)] == [
        "broadcast_cancel",
        "broadcast",
    ]
    assert PROGRESS_EVERY >= 3.0


async def test_cancel_button_on_a_draft_and_confirm_only_once(admin_harness: Harness) -> None:
    harness = admin_harness
    emulator, db = harness.emulator, harness.services.db
    await add_readers(harness.services, emulator, 3)
    await harness.say(ADMIN, ADMIN, "/broadcast First")
    first = await _confirm_prompt(harness)
    await harness.press(first, text="✖ Cancel")
    cancelled = await harness.edited(first, "nothing was sent")
    assert cancelled.buttons == []
    assert await outbox.depth(db) == 0

    await harness.say(ADMIN, ADMIN, "/broadcast Second")
    second = await _confirm_prompt(harness)
    query = emulator.press_button(ADMIN, second.message_id, "ab:c:2")
    again = emulator.press_button(ADMIN, second.message_id, "ab:c:2")
    await emulator.wait_for_callback_answer(query)
    answer = await emulator.wait_for_callback_answer(again)
    await harness.sender.wait_empty()
    assert "already" in (answer.text or "") or answer.text is None
    entries = [e for e in await admin.audit_entries(db) if e.action == "broadcast"]
    assert len(entries) == 1
    progress = await outbox.broadcast_progress(db, 2)
    assert progress.total == 4


async def test_usage_and_clear_refusals(admin_harness: Harness) -> None:
    harness = admin_harness
    answer = await harness.say(ADMIN, ADMIN, "/broadcast")
    assert "Reply to any message" in (answer.text or "")
    answer = await harness.say(ADMIN, ADMIN, "/broadcast topic:<nope> hi")
    assert "There is no topic “<nope>”" in (answer.text or "")
    answer = await harness.say(ADMIN, ADMIN, "/broadcast lang:fr hi")
    assert "known: en, es" in (answer.text or "")
    answer = await harness.say(ADMIN, ADMIN, "/broadcast topic:video hi")
    assert "Nobody is in this audience" in (answer.text or "")
    answer = await harness.say(ADMIN, ADMIN, "/broadcast_cancel")
    assert "No broadcast is being sent" in (answer.text or "")
    assert await broadcasts.get(harness.services.db, 1) is None


async def test_a_report_that_would_not_change_the_message_is_not_sent(
    admin_harness: Harness,
) -> None:
    """Telegram refuses an edit that changes nothing ("message is not modified"): a
    progress tick while no copy has gone out yet must not make one."""
    harness, emulator = admin_harness, admin_harness.emulator
    assert harness.app.job_queue is not None
    (job,) = harness.app.job_queue.get_jobs_by_name("broadcast-progress")
    job.enabled = False  # only the ticks the test asks for
    await add_readers(harness.services, emulator, 20)
    await harness.say(ADMIN, ADMIN, "/broadcast Held back by Telegram")
    prompt = await _confirm_prompt(harness)
    # Every copy fails with a 5xx and waits for its retry: the counts stay at 0.
    emulator.fault_plan = FaultPlan(rate_5xx=1.0, methods=frozenset({"sendmessage"}))
    await harness.press(prompt, text="Send")
    await harness.edited(prompt, "remaining")
    edits = len(emulator.calls("editMessageText"))

    await job.run(harness.app)
    await job.run(harness.app)

    assert emulator.take_protocol_errors() == []
    assert len(emulator.calls("editMessageText")) == edits
