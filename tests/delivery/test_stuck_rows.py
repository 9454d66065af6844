"""Nothing stuck: an outcome the database refuses is written later, and a row whose
claim is older than the lease goes back to the queue."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.sender import OutboxSender
from bot.store import outbox
from bot.store.db import Database
from bot.store.outbox import NewMessage
from bot.store.sqlite import SQLiteDatabase
from tests.delivery.fake_telegram import FakeTelegram, fake_bot
from tests.delivery.test_sender import wait_until

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@dataclass
class LockingTelegram(FakeTelegram):
    """Accepts the first message, then another process takes the database's write
    lock before the sender can write that it went."""

    blocker: sqlite3.Connection | None = None

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        answer = await super().do_request(url, method, *args, **kwargs)
        if self.blocker is not None and len(self.delivered) == 1:
            await asyncio.to_thread(self.blocker.execute, "BEGIN IMMEDIATE")
        return answer


async def _states(db: Database) -> list[str]:
    return [row[0] for row in await db.fetchall("SELECT state FROM outbox ORDER BY id")]


async def test_a_refused_mark_is_retried_and_the_chat_s_queue_goes_on(
    db: SQLiteDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with db.transaction() as tx:  # wait for a lock briefly, not five seconds
        await tx.execute("PRAGMA busy_timeout = 20")
    blocker = sqlite3.connect(db.path, isolation_level=None, check_same_thread=False)
    telegram = LockingTelegram(blocker=blocker)
    await outbox.enqueue(db, [NewMessage.text(1, text, kind="digest") for text in ("a", "b")])
    sender = OutboxSender(
        db, fake_bot(telegram), idle_poll=0.05, record_retry_base=0.01, record_retry_cap=0.05
    )
    caplog.set_level(logging.WARNING, logger="bot.delivery.sender")
    await sender.start()
    try:

        async def refused_twice() -> bool:
            return sum("could not record" in r.getMessage() for r in caplog.records) >= 2

        await wait_until(refused_twice)
        assert [m.params["text"] for m in telegram.delivered] == ["a"]
        await asyncio.to_thread(blocker.execute, "ROLLBACK")  # the other process lets go

        async def all_sent() -> bool:
            return await _states(db) == ["sent", "sent"]

        await wait_until(all_sent)
    finally:
        await sender.stop()
        blocker.close()
    assert [m.params["text"] for m in telegram.delivered] == ["a", "b"], "each sent once"
    assert sender.counts == {"sent": 2}


async def test_a_claim_older_than_the_lease_returns_to_the_queue(db: Database) -> None:
    await outbox.enqueue(db, [NewMessage.text(1, "x", kind="digest")], now=0)
    (first,) = await outbox.claim(db, limit=5, now=1000, lease=300)
    assert await outbox.claim(db, limit=5, now=1299, lease=300) == [], "still leased"
    assert await outbox.claim(db, limit=5, now=1301, lease=300, in_flight=[first.id]) == [], (
        "a request in flight keeps its row"
    )
    assert await outbox.claim(db, limit=5, now=10**6) == [], "no lease, no expiry"
    (again,) = await outbox.claim(db, limit=5, now=1301, lease=300)
    assert (again.id, again.attempts) == (first.id, 2)
    assert await outbox.claim(db, limit=5, now=1302, lease=300) == [], "leased anew"


async def test_a_running_sender_takes_back_a_row_left_sending(db: Database) -> None:
    """A row some earlier task claimed and lost (no restart in between): once the lease
    is over, the running sender sends it and the chat's later rows after it."""
    telegram = FakeTelegram()
    now = [1000.0]
    sender = OutboxSender(db, fake_bot(telegram), idle_poll=30, lease=300, clock=lambda: now[0])
    await sender.start()
    try:
        await sender.wait_empty()  # it has looked, found nothing, and sleeps
        await outbox.enqueue(db, [NewMessage.text(1, t, kind="digest") for t in ("a", "b")])
        await outbox.claim(db, limit=1, now=now[0])  # lost: its task never writes back
        sender.wake()
        await asyncio.sleep(0.1)
        assert telegram.delivered == []
        now[0] += 301
        sender.wake()

        async def all_sent() -> bool:
            return await _states(db) == ["sent", "sent"]

        await wait_until(all_sent)
    finally:
        await sender.stop()
    assert [m.params["text"] for m in telegram.delivered] == ["a", "b"]
