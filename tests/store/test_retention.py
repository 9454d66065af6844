"""Nothing unbounded: broadcast copies share one payload, finished rows are pruned in
batches with their daily counts kept, and the audit log has its own retention."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.digest.jobs import DigestJobs
from bot.services import Services
from bot.store import admin, broadcasts, chats, outbox, retention
from bot.store.broadcasts import Recipients
from bot.store.db import Database, bundled_migrations
from bot.store.outbox import NewMessage
from bot.store.retention import DAY, day_start, prune, prune_outbox_batch
from tests.digest.helpers import CATALOGUE

NOW = 1_750_000_000  # a Unix time well after the rows below
ANNOUNCEMENT = "<b>Announcement</b> " + "word " * 800  # about 4 KB


async def _chats(db: Database, count: int) -> None:
    for chat_id in range(1, count + 1):
        await chats.save_chat(db, chat_id=chat_id, type="private", title=None, now=0)
        await chats.ensure_target(db, chat_id, ui_language="en", timezone="UTC", now=0)


async def _broadcast(db: Database, text: str = ANNOUNCEMENT) -> int:
    draft = await broadcasts.create_draft(
        db,
        admin_id=1,
        admin_chat_id=1,
        audience="all",
        method="sendMessage",
        params={"text": text, "parse_mode": "HTML"},
        now=0,
    )
    return draft.id


async def _finished(db: Database, rows: list[tuple[str, str, int]]) -> None:
    """Outbox rows (kind, final state, finished_at) as the sender leaves them."""
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO outbox (chat_id, kind, method, payload, state, created_at, finished_at)"
            " VALUES (?, ?, 'sendMessage', '{\"text\":\"x\"}', ?, ?, ?)",
            [(n, kind, state, at, at) for n, (kind, state, at) in enumerate(rows, start=1)],
        )


async def test_broadcast_copies_refer_to_the_broadcast_instead_of_copying_it(
    db: Database,
) -> None:
    await _chats(db, 100)
    broadcast_id = await _broadcast(db)
    assert await broadcasts.confirm(db, broadcast_id, Recipients(), admin_id=1, now=0) == 100
    stored = await db.fetchval("SELECT sum(length(payload)) FROM outbox")
    assert stored == 0, "the 4 KB text is stored once, in the broadcast"
    claimed = await outbox.claim(db, limit=100, now=NOW)
    assert len(claimed) == 100
    assert {row.payload["text"] for row in claimed} == {ANNOUNCEMENT}
    assert {row.method for row in claimed} == {"sendMessage"}


async def test_only_a_broadcast_s_copy_may_leave_out_its_payload() -> None:
    with pytest.raises(ValueError, match="broadcast"):
        await outbox.enqueue_tx(None, [NewMessage(1, "digest", "sendMessage", None)])  # type: ignore[arg-type]


async def test_the_migration_empties_copies_queued_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    older = [m for m in bundled_migrations() if m.version < 10]
    db = await Database.open(path, migrations=older)
    try:
        # Chats and targets as the schema held them then (today's store reads
        # columns added since).
        async with db.transaction() as tx:
            for chat_id in (1, 2):
                await tx.execute(
                    "INSERT INTO chats (chat_id, type, created_at, updated_at)"
                    " VALUES (?, 'private', 0, 0)",
                    (chat_id,),
                )
                await tx.execute(
                    "INSERT INTO targets (chat_id, created_at) VALUES (?, 0)", (chat_id,)
                )
        # Written as the store wrote broadcasts then: without the columns added since.
        request = {"text": "Hello ✓", "parse_mode": "HTML"}
        payload = json.dumps({"method": "sendMessage", "params": request}, ensure_ascii=False)
        async with db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO broadcasts (admin_id, admin_chat_id, audience, payload, created_at)"
                " VALUES (1, 1, 'all', ?, 0) RETURNING id",
                (payload,),
            )
            row = await cursor.fetchone()
        assert row is not None
        broadcast_id = int(row[0])
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO outbox (chat_id, kind, priority, method, payload, broadcast_id,"
                " created_at) VALUES (?, ?, ?, 'sendMessage', ?, ?, 0)",
                [
                    (c, "broadcast", outbox.BROADCAST, outbox.encode_payload(request), broadcast_id)
                    for c in (1, 2)
                ]
                + [(3, "digest", outbox.DIGEST, json.dumps({"text": "a digest"}), None)],
            )
        await db.migrate(bundled_migrations())
        payloads = [row[0] for row in await db.fetchall("SELECT payload FROM outbox ORDER BY id")]
        assert payloads[:2] == ["", ""]
        assert json.loads(payloads[2])["text"] == "a digest"
        claimed = await outbox.claim(db, limit=5, now=NOW)
        assert sorted(row.payload["text"] for row in claimed) == ["Hello ✓", "Hello ✓", "a digest"]
    finally:
        await db.close()


async def test_prune_deletes_only_old_finished_rows_in_batches(db: Database) -> None:
    old = NOW - 40 * DAY
    await _finished(db, [("digest", "sent", old + n) for n in range(25)])
    await _finished(db, [("digest", "failed", old + 30), ("broadcast", "dropped", old + 30)])
    await _finished(db, [("digest", "sent", NOW - 2 * DAY)])  # recent: kept
    await outbox.enqueue(db, [NewMessage.text(900, "still to send", kind="digest")], now=old)
    before = day_start(NOW - 30 * DAY)

    assert await prune_outbox_batch(db, before, limit=10) == 10
    oldest = await db.fetchval("SELECT min(finished_at) FROM outbox WHERE state = 'sent'")
    assert oldest == old + 10, "a batch takes the oldest rows"

    report = await prune(db, NOW, outbox_days=30, audit_days=365, batch=10)
    assert report.outbox == 17
    left = await db.fetchall("SELECT state, finished_at FROM outbox ORDER BY id")
    assert [(row[0], row[1]) for row in left] == [("sent", NOW - 2 * DAY), ("pending", None)]
    assert await outbox.depth(db) == 1
    assert (await prune(db, NOW, outbox_days=30, audit_days=365)).outbox == 0


async def test_stats_counts_are_the_same_after_pruning(db: Database) -> None:
    start = day_start(NOW - 60 * DAY)
    rows = []
    for day in range(60):
        at = start + day * DAY + 3600 * (day % 24)
        rows += [("digest", "sent", at)] * (1 + day % 3)
        rows += [("broadcast", "sent", at), ("digest", "failed", at + 60)]
        if day % 7 == 0:
            rows.append(("broadcast", "dropped", at + 120))
    await _finished(db, rows)
    windows = (start, start + 20 * DAY, day_start(NOW - 7 * DAY), NOW - DAY, NOW - 7 * DAY)
    counts_before = [await admin.delivery_counts(db, since=since) for since in windows]
    per_day_before = [await admin.sent_per_day(db, since=since) for since in windows]

    report = await prune(db, NOW, outbox_days=30, audit_days=365, batch=50)
    assert report.outbox > len(rows) // 3
    assert await db.fetchval("SELECT count(*) FROM outbox") == len(rows) - report.outbox

    assert [await admin.delivery_counts(db, since=since) for since in windows] == counts_before
    assert [await admin.sent_per_day(db, since=since) for since in windows] == per_day_before
    await prune(db, NOW + 30 * DAY, outbox_days=30, audit_days=365, batch=7)
    assert [await admin.sent_per_day(db, since=since) for since in windows] == per_day_before


async def test_the_audit_log_has_its_own_retention(db: Database) -> None:
    for at in (NOW - 400 * DAY, NOW - 366 * DAY, NOW - 364 * DAY, NOW - DAY):
        await admin.audit(db, 1, "feed_add", detail=str(at), now=at)
    report = await prune(db, NOW, outbox_days=30, audit_days=365, batch=1)
    assert report.audit == 2
    assert [int(e.detail) for e in await admin.audit_entries(db)] == [NOW - DAY, NOW - 364 * DAY]


async def test_spent_broadcasts_go_once_their_copies_have(db: Database) -> None:
    await _chats(db, 3)
    old = NOW - 40 * DAY
    spent, running, draft = await _broadcast(db), await _broadcast(db), await _broadcast(db)
    for broadcast_id in (spent, running):
        await broadcasts.confirm(db, broadcast_id, Recipients(), admin_id=1, now=old)
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET state = 'sent', finished_at = ? WHERE broadcast_id = ?",
            (old, spent),
        )
    await broadcasts.finish(db, spent, now=old)
    await broadcasts.mark_reported(db, spent, now=old)
    report = await prune(db, NOW, outbox_days=30, audit_days=365)
    assert report.broadcasts == 2, "the spent one and the old draft"
    assert await broadcasts.get(db, spent) is None
    assert await broadcasts.get(db, draft) is None
    assert await broadcasts.get(db, running) is not None
    assert await outbox.depth(db) == 3, "the running broadcast's copies are all there"


async def test_the_daily_job_prunes_with_the_configured_retention(
    settings: Settings, db: Database
) -> None:
    settings.outbox_retention_days = 10
    await _finished(db, [("digest", "sent", NOW - 12 * DAY), ("digest", "sent", NOW - 5 * DAY)])
    jobs = DigestJobs(Services(settings=settings, db=db, catalogue=CATALOGUE))
    report = await jobs.prune(NOW)
    assert report == retention.PruneReport(outbox=1)
    assert await db.fetchval("SELECT count(*) FROM outbox") == 1


def _page(chat_id: int, part: outbox.SharedPart, text: str, button: str | None) -> NewMessage:
    markup: dict[str, Any] = (
        {} if button is None else {"reply_markup": {"inline_keyboard": [[{"text": button}]]}}
    )
    return NewMessage.text(
        chat_id,
        text,
        kind="digest",
        shared=part,
        **markup,
        link_preview_options={"is_disabled": True},
    )


async def test_a_shared_text_is_stored_once_and_sends_what_a_row_of_its_own_sends(
    db: Database,
) -> None:
    page = ANNOUNCEMENT
    own = [
        NewMessage.text(c, page, kind="digest", link_preview_options={"is_disabled": True})
        for c in (1, 2)
    ]
    await outbox.enqueue(db, own)
    # Two transactions, two objects of the same text: one stored payload.
    for chats_ in ((3, 4), (5, 6)):
        part = outbox.SharedPart.text(outbox.encode_text(page))
        await outbox.enqueue(db, [_page(c, part, page, f"more {c}") for c in chats_])
    assert await db.fetchval("SELECT count(*) FROM outbox_payloads") == 1
    stored = await db.fetchval("SELECT sum(length(payload)) FROM outbox WHERE chat_id > 2")
    assert stored < 4 * 200, "each row keeps only its button"

    rows = await db.fetchall("SELECT chat_id, request FROM outbox_requests")
    requests: dict[int, str] = {row[0]: row[1] for row in rows}
    for chat_id in (3, 4, 5, 6):
        alone = NewMessage.text(
            chat_id,
            page,
            kind="digest",
            reply_markup={"inline_keyboard": [[{"text": f"more {chat_id}"}]]},
            link_preview_options={"is_disabled": True},
        )
        assert requests[chat_id] == outbox.encode_payload(alone.payload or {})
    claimed = await outbox.claim(db, limit=10, now=NOW)
    assert len(claimed) == 6
    for row in claimed:
        assert row.payload["text"] == page
        assert row.payload["link_preview_options"] == {"is_disabled": True}
        if row.chat_id > 2:
            assert row.payload["reply_markup"]["inline_keyboard"][0][0]["text"] == (
                f"more {row.chat_id}"
            )


async def test_a_row_sharing_its_text_cannot_set_the_text_again() -> None:
    part = outbox.SharedPart.text(outbox.encode_text("x"))
    with pytest.raises(ValueError, match="parse_mode"):
        NewMessage.text(1, "x", kind="digest", shared=part, parse_mode="MarkdownV2")
    with pytest.raises(ValueError, match="JSON object"):
        outbox.SharedPart("{}")


async def test_a_shared_text_goes_with_the_last_row_that_refers_to_it(db: Database) -> None:
    old = NOW - 40 * DAY
    kept = outbox.SharedPart.text(outbox.encode_text("still queued"))
    spent = outbox.SharedPart.text(outbox.encode_text("all sent"))
    await outbox.enqueue(db, [_page(c, spent, "all sent", None) for c in (1, 2)], now=old)
    await outbox.enqueue(
        db, [_page(3, kept, "still queued", None), _page(4, spent, "all sent", None)], now=old
    )
    for row in await outbox.claim(db, limit=10, now=old):
        if row.chat_id != 3:
            await outbox.mark_sent(db, row.id, 1, now=old + (row.chat_id == 4) * 35 * DAY)

    report = await prune(db, NOW, outbox_days=30, audit_days=365)
    assert report.outbox == 2
    assert report.payloads == 0, "chat 4's row, sent lately, still refers to it"

    await outbox.retry_later(
        db, (await db.fetchval("SELECT id FROM outbox WHERE chat_id = 3")), 0, None
    )
    report = await prune(db, NOW + 30 * DAY, outbox_days=30, audit_days=365, batch=1)
    assert report.outbox == 1
    assert report.payloads == 1
    left = await db.fetchall("SELECT payload FROM outbox_payloads")
    assert [json.loads(row[0])["text"] for row in left] == ["still queued"]
    (row,) = await outbox.claim(db, limit=10, now=NOW + 30 * DAY)
    assert (row.chat_id, row.payload["text"]) == (3, "still queued")
    # Queued again after its prune: stored again.
    await outbox.enqueue(db, [_page(5, spent, "all sent", None)], now=NOW)
    assert await db.fetchval("SELECT count(*) FROM outbox_payloads") == 2
