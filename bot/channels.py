"""Finding the channel an admin means: `@name`, its id, its number in /channel, or its title."""

from __future__ import annotations

from collections.abc import Sequence

from bot.numbers import whole_number
from bot.store.chats import Chat
from bot.text import fold


def find_channel(channels: Sequence[Chat], reference: str) -> Chat | None:
    reference = reference.strip()
    if not reference:
        return None
    if reference.startswith("@"):
        name = reference[1:].casefold()
        return next((c for c in channels if (c.username or "").casefold() == name), None)
    number = whole_number(reference, signed=True)
    if number is not None:
        if 1 <= number <= len(channels):
            return channels[number - 1]
        return next((c for c in channels if c.chat_id == number), None)
    title = " ".join(fold(reference).split())
    return next((c for c in channels if " ".join(fold(c.title or "").split()) == title), None)


def label(channel: Chat) -> str:
    if channel.username:
        return f"{channel.title or channel.username} (@{channel.username})"
    return f"{channel.title or channel.chat_id} ({channel.chat_id})"
