"""Channels as digest targets, configured by the bot's admins from a private chat.

The channel's target goes through the very same rules as any chat
(`bot.reader.following`, `bot.reader.settings`); only finding the target
differs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardMarkup, Update

from bot.channels import find_channel, label
from bot.digest import schedule
from bot.formatting import escape, truncate
from bot.i18n import t
from bot.reader import following
from bot.reader import settings as setting
from bot.reader.following import RemoveAll
from bot.services import Services
from bot.store import chats, subscriptions
from bot.store.chats import Chat, Target
from bot.telegram import keyboards
from bot.telegram.context import Context
from bot.telegram.handlers.common import argument, reply, user_language
from bot.telegram.services import services_of


async def _admin_language(update: Update, context: Context) -> str | None:
    """The admin's language, or None after refusing a non-admin."""
    services = services_of(context)
    user = update.effective_user
    language = user_language(update, services)
    if user is None or not services.is_admin(user.id):
        await reply(update, context, t(language, "admin.not_admin"))
        return None
    return language


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


async def list_channels(update: Update, context: Context) -> None:
    language = await _admin_language(update, context)
    if language is None:
        return
    services = services_of(context)
    channels = await chats.list_channels(services.db)
    if not channels:
        await reply(update, context, t(language, "channels.list_empty"))
        return
    lines = [t(language, "channels.list_header"), ""]
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
                follows=escape(truncate("; ".join(follows), 300))
                or t(language, "channels.nothing"),
            )
        )
    await reply(update, context, "\n".join(lines))


async def _resolve(update: Update, context: Context, usage: str) -> tuple[Chat, Target, str] | None:
    """The channel named first in the arguments, its target and the rest."""
    language = await _admin_language(update, context)
    if language is None:
        return None
    services = services_of(context)
    reference, _, rest = argument(update).partition(" ")
    if not reference or not rest.strip():
        await reply(update, context, t(language, usage))
        return None
    channel = find_channel(await chats.list_channels(services.db), reference)
    if channel is None:
        unknown = t(language, "channels.unknown", channel=escape(truncate(reference, 60)))
        await reply(update, context, unknown)
        return None
    return channel, await channel_target(services, channel), rest.strip()


Action = Callable[[Services, Target, str], Awaitable[str]]


async def _on_channel(update: Update, context: Context, usage: str, action: Action) -> None:
    found = await _resolve(update, context, usage)
    if found is not None:
        channel, target, text = found
        await _answer(update, context, channel, await action(services_of(context), target, text))


async def _subscribe(services: Services, target: Target, text: str) -> str:
    catalogue, now = services.catalogue, services.now()
    followed = await following.subscribe(services.db, catalogue, target, text, now)
    return following.answer(catalogue, target, followed, target.ui_language)


async def _change_settings(services: Services, target: Target, text: str) -> str:
    field, _, value = text.partition(" ")
    result = await setting.change(services.db, target, field, value, services.now())
    return setting.answer(result, target.ui_language, services.now())


async def channel_subscribe(update: Update, context: Context) -> None:
    await _on_channel(update, context, "channels.usage_subscribe", _subscribe)


async def channel_unsubscribe(update: Update, context: Context) -> None:
    found = await _resolve(update, context, "channels.usage_unsubscribe")
    if found is None:
        return
    channel, target, text = found
    services = services_of(context)
    language = user_language(update, services)
    result = await following.unsubscribe(
        services.db, services.catalogue, target, text, language=language
    )
    if not isinstance(result, RemoveAll):
        answer = following.answer(services.catalogue, target, result, target.ui_language)
        await _answer(update, context, channel, answer)
        return
    keyboard = None
    if result.count:  # the channel's own target in the data: see `remove_all_button`
        keyboard = keyboards.remove_all_keyboard(target.id, result.upto_id, result.count, language)
    await _answer(update, context, channel, result.text, keyboard)


async def channel_settings(update: Update, context: Context) -> None:
    await _on_channel(update, context, "channels.usage_settings", _change_settings)


async def _answer(
    update: Update,
    context: Context,
    channel: Chat,
    answer: str,
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    language = user_language(update, services_of(context))
    text = t(language, "channels.for_channel", channel=escape(label(channel)), answer=answer)
    await reply(update, context, text, keyboard)
