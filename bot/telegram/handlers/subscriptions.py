"""Following things: /subscribe, /unsubscribe, /mysubs and their buttons."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.search.query import QueryError, parse_subscription
from bot.search.service import SearchResult
from bot.store import subscriptions
from bot.store.chats import Target
from bot.store.subscriptions import Added, Subscription, SubscriptionKind
from bot.telegram import keyboards
from bot.telegram.format import escape, plain, truncate
from bot.telegram.handlers.common import edit_or_reply, refuse_non_admin, reply, target_for
from bot.telegram.handlers.reader import problem_text, show_topic
from bot.telegram.services import Services, services_of

MAX_SUBSCRIPTIONS = 50


def argument(update: Update) -> str:
    """Everything after the command, whitespace collapsed."""
    message = update.effective_message
    text = message.text if message and message.text else ""
    parts = text.split(maxsplit=1)
    return " ".join(parts[1].split()) if len(parts) > 1 else ""


def resolve(services: Services, text: str) -> tuple[SubscriptionKind, str] | QueryError:
    """A topic when the text names one, else keywords in search syntax."""
    topic = services.catalogue.resolve(text, keywords=False)
    if topic is not None:
        return "topic", topic.slug
    try:
        parse_subscription(text)
    except QueryError as exc:
        return exc
    return "query", text


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
    resolved = resolve(services, text)
    if isinstance(resolved, QueryError):
        return problem_text(SearchResult(text, 0, problem=resolved.problem), language)
    kind, value = resolved
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
    resolved = resolve(services, text)
    kind: SubscriptionKind
    if isinstance(resolved, QueryError):
        kind, value = "query", text
    else:
        kind, value = resolved
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
    await reply(update, context, await unsubscribe_from(services_of(context), target, text))


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
    lines += ["", digest]
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
