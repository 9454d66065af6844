"""Stopping work under way, as the sender and the relay server both stop: Telegram
requests already made are worth their answer, but a stop must not hang on one."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any


async def finish_or_cancel(tasks: Collection[asyncio.Task[Any]], grace: float) -> None:
    """Let `tasks` finish for up to `grace` seconds, then cancel the late ones and wait
    until they have unwound (their rows go back to pending there)."""
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
