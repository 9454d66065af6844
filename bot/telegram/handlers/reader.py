"""Reading: /start, /help, /latest, /search (and plain text), /topics, /topic."""

from __future__ import annotations

import hashlib

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.formatting import article_block, escape, pack, truncate
from bot.i18n import t
from bot.reader import problems
from bot.search.service import PAGE_SIZE, SearchResult, find, newest
from bot.search.versions import reading_language
from bot.services import Services
from bot.store import articles, chats, subscriptions, topics
from bot.store.chats import Target
from bot.telegram import keyboards
from bot.telegram.context import Context
from bot.telegram.handlers.common import edit_or_reply, reply, target_for
from bot.telegram.services import services_of


async def start(update: Update, context: Context) -> None:
    services = services_of(context)
    target = await target_for(update, context)
    if not target.active:
        await chats.reactivate_chat(services.db, target.chat_id)
    chat = update.effective_chat
    language = target.ui_language
    if chat is not None and chat.type == ChatType.PRIVATE:
        user = update.effective_user
        name = f", {escape(user.first_name)}" if user and user.first_name else ""
        text = t(language, "reader.start", name=name)
    else:
        text = t(language, "reader.start_group")
    await reply(update, context, text, keyboards.start_keyboard(language))


async def help_command(update: Update, context: Context) -> None:
    services = services_of(context)
    target = await target_for(update, context)
    text = t(target.ui_language, "reader.help", bot=context.bot.username)
    user = update.effective_user
    if user is not None and services.is_admin(user.id) and target.chat_id == user.id:
        text += "\n" + t(target.ui_language, "reader.help_admin")
    await reply(update, context, text)


def _latest_messages(
    found: list[articles.Article], header: str, target: Target, services: Services
) -> list[str]:
    names = services.topic_names(target.ui_language)
    blocks = [
        article_block(a, language=target.ui_language, topic_names=names, timezone=target.timezone)
        for a in found
    ]
    if not blocks:
        return [f"{header}\n\n{t(target.ui_language, 'reader.no_articles')}"]
    return pack(blocks, header=header)


async def _show(
    update: Update,
    context: Context,
    messages: list[str],
    keyboard: InlineKeyboardMarkup | None,
    *,
    turn: bool,
    preview: bool = False,
) -> None:
    """Post a list, or — `turn`, a button's new page — put it in place of the
    page it was pressed on, so ◂ Back and More ▸ walk one message (a page too
    long for one message is posted instead)."""
    if turn and len(messages) == 1:
        await edit_or_reply(update, context, messages[0], keyboard)
    else:
        await reply(update, context, messages, keyboard, preview=preview)


async def latest(update: Update, context: Context) -> None:
    target = await target_for(update, context)
    name = " ".join(context.args or ())
    if name:
        await _topic_by_name(update, context, target, name)
        return
    await latest_page(update, context, 0)


async def latest_page(update: Update, context: Context, page: int, *, turn: bool = False) -> None:
    """One page of the newest articles in every language ("Articles in" picks a
    digest's articles; a reader who wants one language searches `lang:es`).
    `turn`: a page button was pressed, see `_show` and `_turned`."""
    services = services_of(context)
    target = await target_for(update, context)
    result = await newest(
        services.db, page=page, budget=services.search_budget, prefer=_prefer(target)
    )
    if turn and not await _turned(update, target, result):
        return
    language = target.ui_language
    key = "reader.latest_header_page" if page else "reader.latest_header"
    header = t(language, key, page=page + 1)
    found = [hit.article for hit in result.hits]
    keyboard = keyboards.stacked(keyboards.latest_pager(page, result.has_more, language), None)
    messages = _latest_messages(found, header, target, services)
    await _show(update, context, messages, keyboard, turn=turn)


def _prefer(target: Target) -> str:
    """The version of a paired story this chat is shown (`bot.search.versions`)."""
    return reading_language(target.article_language, target.ui_language)


async def _turned(update: Update, target: Target, result: SearchResult) -> bool:
    """Answer a page button's press: whether its page is there to show. A page
    past the end (the list shrank, or the data was forged) gets the expired
    notice and changes nothing."""
    query = update.callback_query
    assert query is not None
    if result.page > 0 and not result.hits and result.problem is None:
        await query.answer(t(target.ui_language, "reader.button_expired"), show_alert=True)
        return False
    await query.answer()
    return True


async def _topic_by_name(update: Update, context: Context, target: Target, name: str) -> None:
    topic = services_of(context).catalogue.resolve(name)
    if topic is None:
        unknown = escape(truncate(name, 60))
        await reply(update, context, t(target.ui_language, "reader.topic_unknown", topic=unknown))
        return
    await show_topic(update, context, target, topic.slug)


async def show_topic(
    update: Update,
    context: Context,
    target: Target,
    slug: str,
    page: int = 0,
    *,
    turn: bool = False,
) -> None:
    """A page of the newest articles on a topic (in every language, as /topics
    counts them), with the chat's Subscribe/Unsubscribe toggle. From a button
    it replaces the message pressed on; `turn`: a page button, see `_turned`."""
    services = services_of(context)
    topic = services.catalogue.get(slug)
    language = target.ui_language
    if topic is None:
        await reply(update, context, t(language, "reader.button_expired"))
        return
    result = await newest(
        services.db,
        topics=[slug],
        page=page,
        budget=services.search_budget,
        prefer=_prefer(target),
    )
    if turn and not await _turned(update, target, result):
        return
    subscribed = any(
        s.kind == "topic" and s.value == slug
        for s in await subscriptions.list_for_target(services.db, target.id)
    )
    key = "reader.latest_topic_header_page" if page else "reader.latest_topic_header"
    header = t(language, key, topic=escape(topic.name(language)), page=page + 1)
    found = [hit.article for hit in result.hits]
    messages = _latest_messages(found, header, target, services)
    keyboard = keyboards.stacked(
        keyboards.topic_pager(slug, page, result.has_more, language),
        keyboards.topic_keyboard(slug, topic.name(language), subscribed, language),
    )
    await _show(update, context, messages, keyboard, turn=update.callback_query is not None)


async def topic_command(update: Update, context: Context) -> None:
    target = await target_for(update, context)
    name = " ".join(context.args or ())
    if not name:
        await reply(update, context, t(target.ui_language, "reader.topic_usage"))
        return
    await _topic_by_name(update, context, target, name)


async def topics_command(update: Update, context: Context) -> None:
    services = services_of(context)
    target = await target_for(update, context)
    counted = await topics.counts(services.db)
    language = target.ui_language
    markup = keyboards.topics_keyboard(counted, language)
    if update.callback_query is not None:
        await edit_or_reply(update, context, t(language, "reader.topics_header"), markup)
    else:
        await reply(update, context, t(language, "reader.topics_header"), markup)


def problem_text(result: SearchResult, language: str) -> str:
    return problems.problem_text(result.problem, language, topic=result.unknown_topic)


def _page_data(context: Context, query: str, page: int) -> str:
    """Callback data for a page of results: the query itself when it fits, else
    a key into a bounded in-memory table (such buttons expire on restart)."""
    data = keyboards.KINDS["search"].data(page=page, query=query)
    if keyboards.fits(data):
        return data
    key = hashlib.blake2b(query.encode("utf-8"), digest_size=8).hexdigest()
    context.bot_data.remember_query(key, query)
    return keyboards.KINDS["search_key"].data(page=page, key=key)


async def run_search(
    update: Update,
    context: Context,
    query: str,
    page: int = 0,
    *,
    turn: bool = False,
) -> None:
    """Results for what the reader typed, as typed: "Articles in" picks what a
    digest holds, not what a search finds (`lang:es` narrows one search).
    `turn`: a page button was pressed; its page replaces the one pressed on."""
    services = services_of(context)
    target = await target_for(update, context)
    language = target.ui_language
    result = await find(
        services.db,
        services.catalogue,
        query,
        page=page,
        budget=services.search_budget,
        prefer=_prefer(target),
    )
    if turn and not await _turned(update, target, result):
        return
    shown = escape(truncate(query, 80))
    if result.problem is not None:
        await reply(update, context, problem_text(result, language))
        return
    named = await _named_topics(services, result) if page == 0 else []
    if not result.hits and named:
        listed = escape(", ".join(topic.name(language) for topic in named))
        text = t(language, "reader.search_none_topic", query=shown, topics=listed)
        await reply(update, context, text, keyboards.with_topics(None, named, language))
        return
    if not result.hits:
        counted = sorted(await topics.counts(services.db), key=lambda c: -c.articles)[:6]
        text = t(language, "reader.search_none", query=shown)
        await reply(update, context, text, keyboards.topics_keyboard(counted, language))
        return
    names = services.topic_names(language)
    first = page * PAGE_SIZE + 1
    blocks = [
        article_block(
            hit.article,
            language=language,
            topic_names=names,
            timezone=target.timezone,
            snippet=hit.snippet,
            number=first + index,
        )
        for index, hit in enumerate(result.hits)
    ]
    key = "reader.search_header_page" if page else "reader.search_header"
    header = t(language, key, query=shown, page=page + 1)
    back = _page_data(context, query, page - 1) if page else None
    more = _page_data(context, query, page + 1) if result.has_more else None
    markup = keyboards.stacked(keyboards.pager(back, more, language), None)
    markup = keyboards.with_topics(markup, named, language)
    messages = pack(blocks, header=header)
    await _show(update, context, messages, markup, turn=turn, preview=len(result.hits) == 1)


async def _named_topics(services: Services, result: SearchResult) -> list[topics.TopicCount]:
    """The topics the search names (see `bot.search.named`), with their counts."""
    if not result.topics:
        return []
    return [count for count in await topics.counts(services.db) if count.slug in result.topics]


async def search_command(update: Update, context: Context) -> None:
    message = update.effective_message
    text = message.text if message and message.text else ""
    query = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    if not query.strip():
        target = await target_for(update, context)
        await reply(update, context, t(target.ui_language, "reader.search_usage"))
        return
    await run_search(update, context, query)


async def plain_text(update: Update, context: Context) -> None:
    """In a private chat, anything that is not a command is a search."""
    message = update.effective_message
    if message is None or not message.text:
        return
    await run_search(update, context, message.text)


async def unknown_command(update: Update, context: Context) -> None:
    target = await target_for(update, context)
    await reply(update, context, t(target.ui_language, "reader.unknown_command"))
