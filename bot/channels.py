"""Channels as digest targets, for the bot's admins: finding the channel an
admin means (`@name`, its id, its number in /channel, or its title), its
target, and the overview /channel shows.

The channel's target goes through the very same rules as any chat
(`bot.reader.following`, `bot.reader.settings`); only finding it differs.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.digest import schedule
from bot.formatting import escape, pack, truncate
from bot.i18n import t
from bot.numbers import whole_number
from bot.reader import following
from bot.services import Services
from bot.store import chats, subscriptions
from bot.store.chats import Chat, Target
from bot.text import fold

FOLLOWS_CHARS = 300
"""What a channel's line shows of its subscriptions at most."""


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


async def channel_target(services: Services, channel: Chat) -> Target:
    """The channel's target, made on first use (an existing one keeps its next
    time: recomputing it could skip a digest that is due)."""
    target = await chats.get_target(services.db, channel.chat_id)
    if target is not None:
        return target
    new = chats.NewTarget(
        channel.chat_id,
        0,
        ui_language=services.settings.default_language,
        timezone=services.settings.default_timezone,
    )
    return await schedule.open_target(services.db, new, services.now())


async def overview(services: Services, language: str) -> list[str]:
    """Every channel the bot can post to, numbered as /channel_… commands take
    them, with its digest mode and what it follows: as many messages as the
    list needs (a publication may run dozens of channels), split between channels."""
    channels = await chats.list_channels(services.db)
    if not channels:
        return [t(language, "channels.list_empty")]
    lines = []
    for number, channel in enumerate(channels, start=1):
        target = await channel_target(services, channel)
        follows = [
            following.label(services.catalogue, s, language)
            for s in await subscriptions.list_for_target(services.db, target.id)
        ]
        lines.append(
            t(
                language,
                "channels.list_item",
                number=number,
                channel=escape(label(channel)),
                mode=following.mode_name(target),
                follows=escape(truncate("; ".join(follows), FOLLOWS_CHARS))
                or t(language, "channels.nothing"),
            )
        )
    return pack(lines, header=t(language, "channels.list_header") + "\n", separator="\n")
