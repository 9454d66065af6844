"""The emulator is the reference Telegram for the delivery benchmark: it must be fast."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.emulator import Emulator

DIGEST = "<b>Today</b>\n" + '<i>Title</i> <a href="https://example.org/a">read</a>\n' * 10


async def test_thousands_of_send_message_per_second(emulator: Emulator) -> None:
    """The client shares this process and CPU, so the bar is set well below capacity."""
    users = [emulator.add_user() for _ in range(100)]
    url = f"{emulator.base_url}{emulator.token}/sendMessage"
    total = 3000
    numbers = iter(range(total))

    async def worker(session: aiohttp.ClientSession) -> None:
        for n in numbers:
            form = {"chat_id": str(users[n % 100].id), "text": DIGEST, "parse_mode": "HTML"}
            async with session.post(url, data=form) as answer:
                assert answer.status == 200
                await answer.read()

    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(32)))
    assert emulator.stats().delivered == total


async def test_history_limit_bounds_memory() -> None:
    async with Emulator(history_limit=2) as emulator:
        user = emulator.add_user()
        for n in range(4):
            emulator.send_user_message(user.id, user.id, f"m{n}")
        assert [m.text for m in emulator.messages(user.id)] == ["m2", "m3"]
