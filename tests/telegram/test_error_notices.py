"""Unexpected failures in handlers and jobs reach the bot's admins: one notice per
kind of failure per ten minutes, however often it repeats, queued in the outbox
and sent by the running bot through the emulator."""

from __future__ import annotations

import pytest

from bot.alerts import NOTICE_INTERVAL, ErrorAlerts
from bot.config import Settings
from bot.digest.jobs import DigestJobs
from bot.emulator import Emulator, MessageRecord
from tests.harness import Harness

ADMIN = 9_100
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
START = 1_800_000_000.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_ids": [ADMIN]})


@pytest.fixture
def emulator(emulator: Emulator) -> Emulator:
    emulator.add_user("Editor", user_id=ADMIN)
    return emulator


@pytest.fixture
def clock(harness: Harness) -> Clock:
    clock = Clock(START)
    harness.services.clock = clock
    return clock


def notices(harness: Harness) -> list[MessageRecord]:
    return [m for m in harness.emulator.bot_messages(ADMIN) if "🛑" in (m.text or "")]


async def settled(harness: Harness, user_id: int) -> None:
    """The error handler has finished with the chat's last update (the user got
    the apology before it told the admins): a chat's updates are handled one
    after another, so once a later one is answered, and the outbox is empty,
    every notice it queued has been sent."""
    reply = await harness.say(user_id, user_id, "/help")
    assert reply.text != APOLOGY
    await harness.sender.wait_empty()


async def _break_subscriptions(harness: Harness) -> None:
    async with harness.services.db.transaction() as tx:
        await tx.execute("ALTER TABLE subscriptions RENAME TO subscriptions_gone")


async def test_a_failing_handler_tells_the_admins_once_per_window_and_how_often_since(
    harness: Harness, clock: Clock
) -> None:
    user = harness.emulator.add_user("Ann")
    await harness.say(user.id, user.id, "/start")
    await _break_subscriptions(harness)
    for _ in range(5):
        reply = await harness.say(user.id, user.id, "/mysubs")
        assert reply.text == APOLOGY
    await settled(harness, user.id)
    first = notices(harness)
    assert len(first) == 1
    text = first[0].text or ""
    assert "mysubs" in text
    assert "OperationalError: no such table: subscriptions" in text
    assert "Ann" not in text
    assert str(user.id) not in text

    clock.now = START + NOTICE_INTERVAL - 1
    reply = await harness.say(user.id, user.id, "/mysubs")
    await settled(harness, user.id)
    assert len(notices(harness)) == 1  # still within ten minutes of the notice
    clock.now = START + NOTICE_INTERVAL
    reply = await harness.say(user.id, user.id, "/mysubs")
    assert reply.text == APOLOGY
    await settled(harness, user.id)
    second = notices(harness)
    assert len(second) == 2
    assert "failed 6 times since my last notice" in (second[1].text or "")


async def test_a_failing_job_tells_the_admins_too(harness: Harness, clock: Clock) -> None:
    async with harness.services.db.transaction() as tx:
        await tx.execute("ALTER TABLE audit_log RENAME TO audit_log_gone")
    jobs = DigestJobs(harness.services)
    assert await jobs.prune() is None
    assert await jobs.prune() is None  # the same failure again: counted, not told
    await harness.sender.wait_empty()
    told = notices(harness)
    assert len(told) == 1
    assert "job prune" in (told[0].text or "")
    assert "no such table: audit_log" in (told[0].text or "")


def test_kinds_are_throttled_apart_and_counted() -> None:
    alerts = ErrorAlerts(interval=600)
    first = alerts.record("job prune", ValueError("x"), 0)
    assert first is not None
    assert first.count == 1
    assert alerts.record("job prune", ValueError("y"), 10) is None
    other = alerts.record("job prune", KeyError("z"), 20)  # another type: another kind
    assert other is not None
    assert other.count == 1
    assert alerts.record("job feeds-poll", ValueError("x"), 30) is not None
    assert alerts.record("job prune", ValueError("w"), 599) is None
    later = alerts.record("job prune", ValueError("v"), 600)
    assert later is not None
    assert later.count == 3
    assert later.error == "ValueError: v"
