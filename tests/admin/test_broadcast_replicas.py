"""A broadcast's progress message is kept by the leading bot alone when several
bots share one PostgreSQL store: each would otherwise edit the same message."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.config import Settings
from bot.emulator import Emulator
from tests.admin.conftest import ADMIN, add_readers, running
from tests.harness import Harness, sender_of
from tests.telegram.test_replicas import replica


def _edits(emulator: Emulator) -> int:
    return len(emulator.calls("editMessageText"))


async def _tick(harness: Harness) -> None:
    """One run of the bot's broadcast-progress job, now."""
    queue = harness.app.job_queue
    assert queue is not None
    (job,) = queue.get_jobs_by_name("broadcast-progress")
    await job.run(harness.app)


async def test_only_the_leader_edits_a_broadcast_s_progress(
    emulator: Emulator, admin_settings: Settings, postgres_url: str
) -> None:
    shared = admin_settings.model_copy(
        update={"database_url": postgres_url, "send_rate_per_second": 25.0}
    )
    async with AsyncExitStack() as stack:
        leader = await stack.enter_async_context(running(emulator, shared))
        # Not polling, as a polling replica only polls while it leads (Telegram
        # answers a second poller with 409): updates reach the leader here.
        app = await stack.enter_async_context(replica(emulator, shared))
        follower = Harness(emulator, app.bot_data.services, app)
        assert leader.services.leadership.leading
        assert not follower.services.leadership.leading
        for harness in (leader, follower):  # only the ticks the test asks for
            assert harness.app.job_queue is not None
            harness.app.job_queue.get_jobs_by_name("broadcast-progress")[0].enabled = False

        await add_readers(leader.services, emulator, 200)
        await leader.say(ADMIN, ADMIN, "/broadcast Progress is the leader's to show")
        prompt = await emulator.wait_for_bot_message(ADMIN, lambda m: bool(m.buttons))
        await leader.press(prompt, text="Send")
        await leader.edited(prompt, "remaining", timeout=30)

        await sender_of(leader.app).wait_empty()  # sent; the message still shows progress

        before = _edits(emulator)
        await _tick(follower)
        assert _edits(emulator) == before, "the follower edited the progress message"
        await _tick(leader)
        await leader.edited(prompt, "finished")
