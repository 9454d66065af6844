"""A target's schedule settings and its next digest time change together, in one
write, through one function; a target is created, scheduled, in one as well.

A failure is made real with an SQLite trigger on the bot's own database file:
what a failed write leaves behind is what the database says, not what a stub
would have been told to say.
"""

from __future__ import annotations

import pytest

from bot.store import chats
from bot.store.db import Database
from tests.harness import Harness


async def refuse(db: Database, name: str, sql: str) -> None:
    """A trigger that aborts the statements `sql` (an SQLite trigger head) names."""
    async with db.transaction() as tx:
        await tx.execute(f"CREATE TRIGGER {name} {sql} BEGIN SELECT RAISE(ABORT, '{name}'); END")


async def test_the_store_refuses_a_schedule_change_without_its_next_time(
    harness: Harness,
) -> None:
    user = harness.emulator.add_user("Ann")
    await harness.say(user.id, user.id, "/settings")
    target = await chats.get_target(harness.services.db, user.id)
    assert target is not None
    for column, value in (("digest_minute", 600), ("timezone", "Europe/Madrid")):
        with pytest.raises(ValueError, match="next_digest_at"):
            await chats.update_target(harness.services.db, target.id, **{column: value})
    assert await chats.get_target(harness.services.db, user.id) == target


async def test_a_time_is_saved_with_its_next_digest_or_not_at_all(harness: Harness) -> None:
    """Were the time and the next digest two writes, a failure between them would
    leave the new time with the old next digest: a digest at 08:00 for a reader
    who asked for 07:30."""
    db = harness.services.db
    user = harness.emulator.add_user("Ann")
    await harness.say(user.id, user.id, "/settings")
    before = await chats.get_target(db, user.id)
    assert before is not None
    assert before.digest_minute == 8 * 60
    await refuse(
        db,
        "no_next_time",
        "BEFORE UPDATE OF next_digest_at ON targets"
        " WHEN NEW.next_digest_at IS NOT OLD.next_digest_at",
    )
    reply = await harness.say(user.id, user.id, "/settings time 07:30")
    assert reply.text is not None
    assert "Traceback" not in reply.text
    assert await chats.get_target(db, user.id) == before


async def test_first_contact_makes_the_chat_and_its_target_together_or_neither(
    harness: Harness,
) -> None:
    """A chat saved without its target would be half made: listed among the chats
    (and counted, broadcast to) with no settings, until some later message."""
    db = harness.services.db
    await refuse(db, "no_target", "BEFORE INSERT ON targets")
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/settings")
    assert reply.text is not None
    assert "Traceback" not in reply.text
    assert await chats.get_chat(db, user.id) is None
    assert await chats.get_target(db, user.id) is None
    async with db.transaction() as tx:
        await tx.execute("DROP TRIGGER no_target")
    await harness.say(user.id, user.id, "/settings")
    target = await chats.get_target(db, user.id)
    assert target is not None
    assert target.next_digest_at is not None
    assert await chats.get_chat(db, user.id) is not None
