"""The bot's pending updates, with getUpdates' long-polling semantics.

An update is confirmed (and forgotten) once getUpdates is called with an offset
above its id; a negative offset keeps only the last `-offset` updates. A poll
answers as soon as an update is pending, or with `[]` when its timeout ends.
Only one poll may wait at a time: a newer one terminates the older with 409,
as Telegram does. `allowed_updates` filters updates when they are created, so
it never hides updates that were already queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from itertools import islice
from typing import Any

from .errors import ApiError, conflict

UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
DEFAULT_ALLOWED = frozenset(UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
OTHER_POLL = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)


class UpdateQueue:
    def __init__(self, first_update_id: int = 1) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._next_id = first_update_id
        self.allowed: frozenset[str] = DEFAULT_ALLOWED
        self._arrived: asyncio.Event | None = None
        self._generation = 0
        self._terminated_by = OTHER_POLL
        self._closed = False
        self.dropped = 0
        self.waiting = 0
        """Polls currently waiting for an update."""

    def __len__(self) -> int:
        return len(self._pending)

    def _event(self) -> asyncio.Event:
        if self._arrived is None:
            self._arrived = asyncio.Event()
        return self._arrived

    def _wake(self) -> None:
        if self._arrived is not None:
            self._arrived.set()
            self._arrived = None

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update unless `allowed_updates` excludes its type."""
        if kind not in self.allowed:
            self.dropped += 1
            return None
        update = {"update_id": self._next_id, kind: payload}
        self._next_id += 1
        self._pending.append(update)
        self._wake()
        return update

    def set_allowed(self, allowed: Any) -> None:
        """None keeps the previous setting; an empty list restores the default."""
        if allowed is None:
            return
        if not isinstance(allowed, list) or not all(isinstance(k, str) for k in allowed):
            raise ApiError(400, "Bad Request: can't parse allowed_updates JSON object")
        self.allowed = frozenset(allowed) & frozenset(UPDATE_TYPES) or DEFAULT_ALLOWED

    def confirm(self, offset: int | None) -> None:
        pending = self._pending
        if offset is None:
            return
        if offset < 0:
            while len(pending) > -offset:
                pending.popleft()
            return
        while pending and pending[0]["update_id"] < offset:
            pending.popleft()

    def clear(self) -> None:
        self._pending.clear()

    def terminate_polls(self, reason: str) -> None:
        """End a waiting poll with 409 Conflict: `reason`."""
        self._generation += 1
        self._terminated_by = reason
        self._wake()

    def close(self) -> None:
        self._closed = True
        self._wake()

    def begin_poll(self, offset: int | None) -> int:
        """Confirm updates below `offset` and become the only poll; returns its ticket."""
        self.terminate_polls(OTHER_POLL)
        self.confirm(offset)
        return self._generation

    async def poll(self, ticket: int, limit: int, wait: float) -> list[dict[str, Any]]:
        """Up to `limit` pending updates, waiting at most `wait` seconds for the first."""
        deadline = time.monotonic() + wait
        self.waiting += 1
        try:
            while True:
                if self._generation != ticket:
                    raise conflict(self._terminated_by)
                remaining = deadline - time.monotonic()
                if self._pending or remaining <= 0 or self._closed:
                    return list(islice(self._pending, limit))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._event().wait(), remaining)
        finally:
            self.waiting -= 1

    def peek(self) -> dict[str, Any] | None:
        return self._pending[0] if self._pending else None

    def ack(self, update_id: int) -> None:
        if self._pending and self._pending[0]["update_id"] == update_id:
            self._pending.popleft()

    async def wait_pending(self) -> dict[str, Any]:
        """The oldest pending update, waiting for one if needed (for webhook delivery)."""
        while not self._pending:
            await self._event().wait()
        return self._pending[0]
