"""Following things: /subscribe, /unsubscribe, /mysubs and their buttons."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.digest.preview import next_digest_text
from bot.i18n import t
from bot.search.follow import means_all, to_follow, to_stop_following
from bot.search.query import QueryError
from bot.search.service import SearchResult
from bot.services import Services
from bot.store import chats, subscriptions
from bot.store.chats import Target
from bot.store.subscriptions import Added, Subscription, SubscriptionKind
from bot.telegram import keyboards
from bot.telegram.format import escape, plain, truncate
from bot.telegram.handlers.common import edit_or_reply, refuse_non_admin, reply, target_for
from bot.telegram.handlers.reader import problem_text, show_topic
from bot.telegram.services import services_of

MAX_SUBSCRIPTIONS = 50


def argument(update: Update) -> str:
    """Everything after the command, whitespace collapsed."""
    message = update.effective_message
    text = message.text if message and message.text else ""
    parts = text.split(maxsplit=1)
    return " ".join(parts[1].split()) if len(parts) > 1 else ""


def label(services: Services, subscription: Subscription, language: str) -> str:
    if subscription.kind == "topic":
        topic = services.catalogue.get(subscription.value)
        name = topic.name(language) if topic else subscription.value
        return t(language, "subs.topic_label", topic=name)
    return t(language, "subs.query_label", query=subscription.value)


def _what(services: Services, kind: SubscriptionKind, value: str, language: str) -> str:
    if kind == "topic":
        topic = services.catalogue.get(value)
        return escape(topic.name(language) if topic else value)
    return escape(truncate(value, 80))


def mode_name(target: Target) -> str:
    return t(target.ui_language, f"settings.mode_{target.digest_mode}")


async def subscribe_to(services: Services, target: Target, text: str) -> str:
    """Subscribe a target to a topic or keywords; the answer to show (HTML)."""
    language = target.ui_language
    try:
        kind, value = to_follow(services.catalogue, text)
    except QueryError as exc:
        refused = SearchResult(text, 0, problem=exc.problem, unknown_topic=exc.topic)
        return problem_text(refused, language)
    what = _what(services, kind, value, language)
    added = await subscriptions.add(
        services.db, target.id, kind, value, services.now(), limit=MAX_SUBSCRIPTIONS
    )
    if added is Added.FULL:
        return t(language, "subs.too_many", limit=MAX_SUBSCRIPTIONS)
    if added is Added.EXISTS:
        return t(language, "subs.already", what=what)
    key = "subs.subscribed_topic" if kind == "topic" else "subs.subscribed_query"
    return t(language, key, topic=what, query=what, mode=mode_name(target))


async def unsubscribe_from(services: Services, target: Target, text: str) -> str:
    kind, value = to_stop_following(services.catalogue, text)
    what = _what(services, kind, value, target.ui_language)
    removed = await subscriptions.remove(services.db, target.id, kind, value)
    key = "subs.unsubscribed" if removed else "subs.not_subscribed"
    return t(target.ui_language, key, what=what)


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    target = await target_for(update, context)
    text = argument(update)
    if not text:
        await reply(update, context, t(target.ui_language, "subs.usage"))
        return
    if await refuse_non_admin(update, context, target):
        return
    await reply(update, context, await subscribe_to(services_of(context), target, text))


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    target = await target_for(update, context)
    text = argument(update)
    if not text:
        await mysubs(update, context)
        return
    if await refuse_non_admin(update, context, target):
        return
    services = services_of(context)
    if means_all(text):
        question, keyboard = await remove_all_question(services, target, target.ui_language)
        await reply(update, context, question, keyboard)
        return
    await reply(update, context, await unsubscribe_from(services, target, text))


async def remove_all_question(
    services: Services, target: Target, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """`/unsubscribe all` asks first, listing what would go: one mistyped word
    should not silently end every digest a chat gets. The button removes only
    what was listed; a subscription made meanwhile stays."""
    found = await subscriptions.list_for_target(services.db, target.id)
    if not found:
        return t(language, "subs.mysubs_empty"), None
    lines = [t(language, "subs.all_question", count=len(found)), ""]
    lines += [f"• {escape(truncate(label(services, s, language), 60))}" for s in found]
    upto = max(s.id for s in found)
    return "\n".join(lines), keyboards.remove_all_keyboard(target.id, upto, len(found), language)


async def _mysubs_view(
    services: Services, target: Target
) -> tuple[str, InlineKeyboardMarkup | None]:
    language = target.ui_language
    found = await subscriptions.list_for_target(services.db, target.id)
    digest = t(language, "subs.mysubs_digest", mode=mode_name(target))
    if not found:
        return f"{t(language, 'subs.mysubs_empty')}\n{digest}", None
    labels = [label(services, s, language) for s in found]
    lines = [t(language, "subs.mysubs_header"), ""]
    lines += [f"• {escape(truncate(text, 120))}" for text in labels]
    lines += ["", digest, next_digest_text(target, services.now())]
    return "\n".join(lines), keyboards.subscriptions_keyboard(found, labels)


async def mysubs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    target = await target_for(update, context)
    text, markup = await _mysubs_view(services, target)
    await reply(update, context, text, markup)


async def remove_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, subscription_id: int
) -> None:
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


async def remove_all_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, target_id: int, upto_id: int
) -> None:
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


async def keep_all_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    language = (await target_for(update, context)).ui_language
    await query.answer()
    await edit_or_reply(update, context, t(language, "subs.all_kept"))


async def toggle_topic(update: Update, context: ContextTypes.DEFAULT_TYPE, slug: str) -> None:
    services = services_of(context)
    target = await target_for(update, context)
    query = update.callback_query
    assert query is not None
    topic = services.catalogue.get(slug)
    if topic is None:
        await query.answer(t(target.ui_language, "reader.button_expired"))
        return
    language = target.ui_language
    name = escape(topic.name(language))
    if await subscriptions.remove(services.db, target.id, "topic", slug):
        notice = t(language, "subs.unsubscribed", what=name)
    elif (
        await subscriptions.add(
            services.db, target.id, "topic", slug, services.now(), limit=MAX_SUBSCRIPTIONS
        )
        is Added.FULL
    ):
        notice = t(language, "subs.too_many", limit=MAX_SUBSCRIPTIONS)
    else:
        notice = t(language, "subs.subscribed_topic", topic=name, mode=mode_name(target))
    await query.answer(plain(notice))
    await show_topic(update, context, target, slug)
