"""Following things: /subscribe, /unsubscribe, /mysubs and their buttons.

What they decide lives in `bot.reader.following`; here the target is
found, the answer sent and the keyboards made."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.formatting import plain
from bot.i18n import t
from bot.reader import following
from bot.reader.following import Followed, RemoveAll
from bot.services import Services
from bot.store import chats, subscriptions
from bot.store.chats import Target
from bot.telegram import keyboards
from bot.telegram.context import Context
from bot.telegram.handlers.common import (
    argument,
    edit_or_reply,
    refuse_non_admin,
    reply,
    target_for,
)
from bot.telegram.handlers.reader import show_topic
from bot.telegram.services import services_of


async def subscribe(update: Update, context: Context) -> None:
    target = await target_for(update, context)
    text = argument(update)
    if not text:
        await reply(update, context, t(target.ui_language, "subs.usage"))
        return
    if await refuse_non_admin(update, context, target):
        return
    services = services_of(context)
    followed = await following.subscribe(
        services.db, services.catalogue, target, text, services.now()
    )
    answer = following.answer(services.catalogue, target, followed, target.ui_language)
    await reply(update, context, answer)


async def unsubscribe(update: Update, context: Context) -> None:
    target = await target_for(update, context)
    text = argument(update)
    if not text:
        await mysubs(update, context)
        return
    if await refuse_non_admin(update, context, target):
        return
    services = services_of(context)
    result = await following.unsubscribe(services.db, services.catalogue, target, text)
    answer, keyboard = unsubscribed(services, target, result, target.ui_language)
    await reply(update, context, answer, keyboard)


def unsubscribed(
    services: Services, target: Target, result: Followed | RemoveAll, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The reply to an unsubscribe: the answer, or the question before removing
    all, with its buttons when there is something to remove."""
    if isinstance(result, Followed):
        return following.answer(services.catalogue, target, result, language), None
    if not result.count:
        return result.text, None
    keyboard = keyboards.remove_all_keyboard(target.id, result.upto_id, result.count, language)
    return result.text, keyboard


async def _mysubs_view(
    services: Services, target: Target
) -> tuple[str, InlineKeyboardMarkup | None]:
    found = await following.listing(services.db, services.catalogue, target, services.now())
    if not found.subscriptions:
        return found.text, None
    return found.text, keyboards.subscriptions_keyboard(found.subscriptions, found.labels)


async def mysubs(update: Update, context: Context) -> None:
    services = services_of(context)
    target = await target_for(update, context)
    text, markup = await _mysubs_view(services, target)
    await reply(update, context, text, markup)


async def remove_button(update: Update, context: Context, subscription_id: int) -> None:
    """✕ under /mysubs: removes only a subscription of this very chat."""
    services = services_of(context)
    target = await target_for(update, context)
    query = update.callback_query
    assert query is not None
    removed = await subscriptions.remove_by_id(services.db, target.id, subscription_id)
    await query.answer(t(target.ui_language, "subs.removed" if removed else "subs.gone"))
    if removed is None:
        return
    text, markup = await _mysubs_view(services, target)
    await edit_or_reply(update, context, text, markup)


async def remove_all_button(update: Update, context: Context, target_id: int, upto_id: int) -> None:
    """The question's "Remove all": this chat's subscriptions or, pressed by a bot
    admin, those of the channel the question was about."""
    services = services_of(context)
    query = update.callback_query
    assert query is not None
    here = await target_for(update, context)
    language = here.ui_language
    target = here if here.id == target_id else await _admins_channel(update, services, target_id)
    if target is None:
        await query.answer(t(language, "reader.button_expired"), show_alert=True)
        return
    removed = await subscriptions.remove_all(services.db, target.id, upto_id=upto_id)
    answer = t(language, "subs.all_removed", count=removed)
    await query.answer(plain(answer))
    await edit_or_reply(update, context, answer)


async def _admins_channel(update: Update, services: Services, target_id: int) -> Target | None:
    """The channel target a bot admin asked about from another chat; None for
    anyone else or any other target (the data of a button can be forged)."""
    user = update.effective_user
    if user is None or not services.is_admin(user.id):
        return None
    target = await chats.get_target_by_id(services.db, target_id)
    chat = None if target is None else await chats.get_chat(services.db, target.chat_id)
    return target if chat is not None and chat.type == "channel" else None


async def keep_all_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    language = (await target_for(update, context)).ui_language
    await query.answer()
    await edit_or_reply(update, context, t(language, "subs.all_kept"))


async def toggle_topic(update: Update, context: Context, slug: str) -> None:
    services = services_of(context)
    target = await target_for(update, context)
    query = update.callback_query
    assert query is not None
    topic = services.catalogue.get(slug)
    if topic is None:
        await query.answer(t(target.ui_language, "reader.button_expired"))
        return
    followed = await following.toggle_topic(services.db, target, topic.slug, services.now())
    answer = following.answer(services.catalogue, target, followed, target.ui_language)
    await query.answer(plain(answer))
    await show_topic(update, context, target, slug)
