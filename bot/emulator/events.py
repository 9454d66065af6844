"""A feed of what the bot did, for a live view such as the terminal chat mode.

Subscribers get their own queue, so a slow reader never delays the bot; with
no subscribers publishing costs nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .models import MessageRecord


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    """sent, edited, deleted, chat_action, callback_answered or inline_answered."""
    chat_id: int | None = None
    message: MessageRecord | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class Subscription:
    """Events published since the subscription was made, in order."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        self._hub.unsubscribe(self)


class EventHub:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []

    def publish(self, event: Event) -> None:
        for subscription in self._subscriptions:
            subscription.queue.put_nowait(event)

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
