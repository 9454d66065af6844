"""Channels as digest targets, configured by the bot's admins from a private
chat (the rules are `bot.channels`')."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardMarkup, Update

from bot.channels import channel_target, find_channel, label, overview
from bot.formatting import escape, truncate
from bot.i18n import t
from bot.reader import following
from bot.reader import settings as setting
from bot.reader.following import RemoveAll
from bot.services import Services
from bot.store import chats
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


async def list_channels(update: Update, context: Context) -> None:
    language = await _admin_language(update, context)
    if language is not None:
        await reply(update, context, await overview(services_of(context), language))


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
