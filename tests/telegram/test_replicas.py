"""Several bots on one PostgreSQL store behave as one: only the leader sends the
outbox, runs the jobs and polls; a follower's doorbell reaches the leader's sender;
when the leader goes, another takes its duties over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from telegram import Update

from bot.config import Settings
from bot.emulator import Emulator
from bot.runtime import open_content
from bot.services import Services
from bot.store import outbox
from bot.store.outbox import NewMessage
from bot.telegram.app import App, build_application, running
from bot.telegram.jobs import NAMES
from bot.telegram.run import poll_while_leading
from tests.harness import bot_harness, sender_of

TAKEOVER = 15.0  # seconds a follower may take to lead once the leader is gone


def job_names(app: App) -> list[str]:
    """The leader's repeating jobs installed on `app`'s queue."""
    assert app.job_queue is not None
    return sorted(job.name for job in app.job_queue.jobs() if job.name in NAMES)


@asynccontextmanager
async def replica(
    emulator: Emulator, settings: Settings, *, run_jobs: bool = False
) -> AsyncIterator[App]:
    """One bot on the emulator, started as `running` starts any (no updater: the
    test polls, or not)."""
    settings = settings.model_copy(update={"telegram_base_url": emulator.base_url})
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=run_jobs)
    try:
        async with running(build_application(settings, emulator.token, services=services)) as app:
            yield app
    finally:
        await content.db.close()


async def test_only_the_leader_sends_and_a_follower_takes_over_when_it_goes(
    emulator: Emulator, settings: Settings, postgres_url: str
) -> None:
    shared = settings.model_copy(update={"database_url": postgres_url})
    reader = emulator.add_user("Rin")
    async with AsyncExitStack() as leaving:
        first = await leaving.enter_async_context(bot_harness(emulator, shared))
        async with bot_harness(emulator, shared) as second:
            assert first.services.leadership.leading
            assert first.app.bot_data.sender is not None
            assert not second.services.leadership.leading
            assert second.app.bot_data.sender is None

            # Queued by the follower: its doorbell wakes the leader's sender.
            await outbox.enqueue(
                second.services.db, [NewMessage.text(reader.id, "From the follower", kind="notice")]
            )
            second.services.wake_sender()
            await emulator.wait_for_bot_message(reader.id, timeout=TAKEOVER)

            await leaving.aclose()  # the leader goes
            await outbox.enqueue(
                second.services.db, [NewMessage.text(reader.id, "Meanwhile", kind="notice")]
            )
            second.services.wake_sender()
            async with asyncio.timeout(TAKEOVER):
                await second.services.leadership.until_leading()
            await emulator.wait_for_bot_message(
                reader.id, lambda message: message.text == "Meanwhile", timeout=TAKEOVER
            )
            await sender_of(second.app).wait_empty()
    assert [m.text for m in emulator.bot_messages(reader.id)] == ["From the follower", "Meanwhile"]


async def test_a_followers_doorbell_rings_at_the_leader(
    settings: Settings, postgres_url: str
) -> None:
    shared = settings.model_copy(update={"database_url": postgres_url})
    async with AsyncExitStack() as stack:
        bots = []
        for _ in range(2):
            content = await open_content(shared)
            stack.push_async_callback(content.db.close)
            services = Services(shared, content.db, content.catalogue, run_jobs=False)
            await services.leadership.start()
            stack.push_async_callback(services.leadership.stop)
            bots.append(services)
        leader, follower = bots
        assert leader.leadership.leading
        assert not follower.leadership.leading
        rung = asyncio.Event()
        stack.push_async_callback(await leader.doorbell.listen_everywhere(rung.set))
        follower.wake_sender()
        async with asyncio.timeout(TAKEOVER):
            await rung.wait()


async def test_only_the_leader_runs_the_jobs(
    emulator: Emulator, settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text("", "utf-8")
    shared = settings.model_copy(update={"database_url": postgres_url, "feeds_path": feeds})
    async with AsyncExitStack() as leaving:
        first = await leaving.enter_async_context(replica(emulator, shared, run_jobs=True))
        async with replica(emulator, shared, run_jobs=True) as second:
            assert job_names(first) == sorted(NAMES)
            assert job_names(second) == []
            await leaving.aclose()
            async with asyncio.timeout(TAKEOVER):
                await second.bot_data.services.leadership.until_leading()
            for _ in range(100):  # the duties start just after the lead is taken
                if job_names(second):
                    break
                await asyncio.sleep(0.05)
            assert job_names(second) == sorted(NAMES)
            assert second.bot_data.sender is not None


async def test_only_the_leader_polls(
    emulator: Emulator, settings: Settings, postgres_url: str
) -> None:
    shared = settings.model_copy(update={"database_url": postgres_url})
    reader = emulator.add_user("Ana")
    polling = {"poll_interval": 0.0, "timeout": 1, "allowed_updates": Update.ALL_TYPES}
    async with AsyncExitStack() as leaving:
        first = await leaving.enter_async_context(replica(emulator, shared))
        first_stopping = asyncio.Event()
        first_polls = asyncio.create_task(poll_while_leading(first, first_stopping, **polling))
        leaving.callback(first_stopping.set)
        async with replica(emulator, shared) as second:
            second_stopping = asyncio.Event()
            second_polls = asyncio.create_task(
                poll_while_leading(second, second_stopping, **polling)
            )
            try:
                emulator.send_user_message(reader.id, reader.id, "/start")
                await emulator.wait_for_bot_message(reader.id)
                assert first.updater is not None
                assert second.updater is not None
                assert first.updater.running
                assert not second.updater.running

                first_stopping.set()
                await first_polls
                await leaving.aclose()  # the leader goes
                async with asyncio.timeout(TAKEOVER):
                    await second.bot_data.services.leadership.until_leading()
                answered = len(emulator.bot_messages(reader.id))
                emulator.send_user_message(reader.id, reader.id, "/help")
                await emulator.wait_for(
                    lambda: len(emulator.bot_messages(reader.id)) > answered or None,
                    timeout=TAKEOVER,
                )
                assert second.updater.running
            finally:
                second_stopping.set()
                await second_polls
            assert not second.updater.running
