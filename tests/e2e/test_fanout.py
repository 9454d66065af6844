"""A breaking story fanned out at Telegram's limit: the real bot, the emulator
enforcing the limits (the bot-wide second counted strictly), HTTP on loopback.

What is checked is what Telegram would see, on the emulator's request log: no
second holding more than 30 messages, nobody reached twice or missed, and a
reply asked for during the fan-out going ahead of the bulk messages waiting.
Nothing here is timed: requests are delayed at random on their way in
(the emulator's slow faults), so a limiter that trusted its own clock and
evenly spaced grants would put 31 arrivals in one second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.delivery.ratelimiter import TelegramRateLimiter
from bot.delivery.sender import OutboxSender
from bot.emulator import Emulator, FaultPlan, FloodLimits, RequestRecord
from bot.runtime import open_content
from bot.services import Services
from bot.store import chats, feeds, outbox, subscriptions
from bot.store.db import Database
from bot.store.outbox import NewMessage
from bot.telegram.app import build_application
from tests.harness import Harness

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

ADMIN = 700_001
TELEGRAM_PER_SECOND = FloodLimits().per_bot_per_second
# A fifth of the messages take 150 ms longer to arrive: uneven, as the internet is.
JITTER = FaultPlan(seed=11, rate_slow=0.2, slow_latency=0.15)
BREAKING = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
    "<item><title>Migrants cross the border at dawn</title><guid>breaking-1</guid>"
    "<link>https://news.example/breaking-1</link></item></channel></rss>"
)


def most_in_one_second(records: Sequence[RequestRecord]) -> int:
    """The most requests whose arrival (the log's `at`) falls in any one second."""
    times = sorted(record.at for record in records)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.fixture
async def strict() -> AsyncIterator[Emulator]:
    async with Emulator(enforce_limits=True, faults=JITTER) as emulator:
        yield emulator
        errors = emulator.take_protocol_errors()
    assert errors == [], errors


async def instant_readers(services: Services, emulator: Emulator, count: int) -> list[int]:
    """`count` readers following migration instantly, known to the emulator and the store."""
    now = services.now()
    ids = []
    for number in range(count):
        user = emulator.add_user(f"Reader {number}")
        await chats.save_chat(services.db, chat_id=user.id, type="private", title=None, now=now)
        target = await chats.ensure_target(
            services.db, user.id, ui_language="en", timezone="UTC", now=now
        )
        await subscriptions.add(services.db, target.id, "topic", "migration", now)
        await chats.update_target(
            services.db, target.id, digest_mode="instant", next_digest_at=None
        )
        ids.append(user.id)
    return ids


async def test_a_fan_out_keeps_every_second_within_telegram_s_limit(
    strict: Emulator, settings: Settings
) -> None:
    """Three hundred instant subscribers and one new article, from the admin's
    /ingest to the last reader, at the default budget (30 a second)."""
    emulator = strict
    settings = settings.model_copy(update={"admin_ids": [ADMIN]})
    assert settings.send_rate_per_second == TELEGRAM_PER_SECOND, "the default budget"
    emulator.add_user("Ada", user_id=ADMIN)
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        async with bot_on_emulator(emulator, settings, services=services) as app:
            harness = Harness(emulator, services, app)
            readers = await instant_readers(services, emulator, 300)
            emulator.feeds.publish("breaking.xml", BREAKING)
            url = emulator.feed_url("breaking.xml")
            await feeds.add_feed(services.db, url, now=services.now() + 3600)
            await harness.say(ADMIN, ADMIN, "/ingest")

            def everyone_reached() -> bool:
                return all(emulator.bot_messages(reader) for reader in readers)

            await emulator.wait_for(everyone_reached, timeout=120)
            await harness.sender.wait_empty()
    finally:
        await content.db.close()

    sends = emulator.calls("sendMessage")
    assert emulator.stats().flood_429 == 0
    assert all(record.ok for record in sends)
    assert emulator.stats().faults["slow"] > 30, "arrivals were uneven"
    assert most_in_one_second(sends) <= TELEGRAM_PER_SECOND
    for reader in readers:
        [message] = emulator.bot_messages(reader)
        assert "Migrants cross the border at dawn" in (message.text or "")


async def test_a_reply_goes_ahead_of_the_bulk_messages_waiting(
    strict: Emulator, settings: Settings, db: Database
) -> None:
    """The Application's bot, a sender holding the whole fan-out in the limiter's
    queue, and a reply asked for once the fan-out is under way: it is sent next,
    not after the bulk messages queued before it."""
    emulator = strict
    strict_plan = emulator.fault_plan
    emulator.fault_plan = FaultPlan()  # a reply's arrival is what is checked: none delayed
    bulk = [emulator.add_user(f"Reader {n}").id for n in range(150)]
    asking = emulator.add_user("Asks").id
    await outbox.enqueue(db, [NewMessage.text(chat, "news", kind="digest") for chat in bulk])
    settings = settings.model_copy(update={"telegram_base_url": emulator.base_url})
    bot = build_application(settings, emulator.token).bot
    assert isinstance(bot.rate_limiter, TelegramRateLimiter)

    def bulk_sent() -> list[RequestRecord]:
        return [r for r in emulator.calls("sendMessage") if r.ok and r.param("chat_id") != asking]

    async with bot:
        # Claim everything at once: every bulk message waits in the limiter.
        sender = OutboxSender(db, bot, lookahead=60.0, max_in_flight=len(bulk))
        await sender.start()
        try:
            await emulator.wait_for(lambda: len(bulk_sent()) >= 30, timeout=30)
            waiting = len(bulk) - len(bulk_sent())
            before = len(bulk_sent())
            await bot.send_message(asking, "Here is what you asked for")
            await sender.wait_empty()
        finally:
            await sender.stop()
    emulator.fault_plan = strict_plan

    sends = emulator.calls("sendMessage")
    assert all(record.ok for record in sends)
    order = [record.param("chat_id") for record in sends]
    position = order.index(asking)
    assert waiting > 100, "most of the fan-out was still waiting when the reply was asked for"
    assert position - before <= 3, f"the reply waited behind {position - before} bulk messages"
    assert len(order) - 1 - position >= waiting - 3, "it went ahead of those waiting"
    assert sorted(chat for chat in order if chat != asking) == sorted(bulk), "each once"
    assert emulator.stats().flood_429 == 0
