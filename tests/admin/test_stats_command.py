"""/stats through the bot: the numbers, then the chart as a photo."""

from __future__ import annotations

from bot.store import admin, chats, outbox, subscriptions
from bot.store.outbox import NewMessage
from tests.admin.conftest import ADMIN, add_readers
from tests.harness import Harness


async def test_stats_text_and_chart(admin_harness: Harness) -> None:
    harness = admin_harness
    emulator, services = harness.emulator, harness.services
    db = services.db
    readers = await add_readers(services, emulator, 6)
    await add_readers(services, emulator, 2, first_id=3_000_000, language="es")
    for chat_id in readers[:3]:
        target = await chats.get_target(db, chat_id)
        assert target is not None
        await subscriptions.add(db, target.id, "topic", "migration", services.now())
    await chats.deactivate_chat(db, readers[5], "Forbidden: bot was blocked by the user")
    await outbox.enqueue(
        db, [NewMessage.text(chat_id, "Digest", kind="digest") for chat_id in readers[:4]]
    )
    services.wake_sender()
    await harness.sender.wait_empty()

    text = await harness.say(ADMIN, ADMIN, "/stats")
    body = text.text or ""
    assert "Statistics" in body
    # The readers and the admin, whose chat the bot now knows too.
    assert "Active: 8 (private 8 · groups 0 · channels 0)" in body
    assert "Inactive: 1 (private 1" in body
    assert "Migration 3" in body
    assert "English 6 · Spanish 2" in body
    assert "24 h: 4 digests, 0 broadcast messages · 0.0% failed, 0.0% blocked" in body
    assert "Outbox: 0 waiting" in body

    photo = await emulator.wait_for_bot_message(ADMIN, lambda m: m.photo is not None)
    assert photo.photo is not None
    assert photo.photo.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert photo.caption == "The last 30 days"
    assert [e.action for e in await admin.audit_entries(db)] == ["stats"]
