"""Every inline button press, routed by its parsed callback data.

Data this bot never made (forged, stale, truncated) is answered with a short
notice and changes nothing. Who may press each kind is checked here, once, by
`may_press` against `keyboards.KINDS`, before any handler runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.search.service import PAGE_SIZE, page_in_reach
from bot.telegram import keyboards
from bot.telegram.handlers import digest, reader, settings, subscriptions
from bot.telegram.handlers.common import may_press, target_for
from bot.telegram.services import services_of

Context = ContextTypes.DEFAULT_TYPE
ButtonHandler = Callable[[Update, Context, keyboards.Callback], Awaitable[None]]


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    callback = keyboards.parse(query.data)
    if callback is None:
        target = await target_for(update, context)
        await query.answer(t(target.ui_language, "reader.button_expired"))
        return
    if await may_press(update, context, callback.kind):
        await HANDLERS[callback.kind](update, context, callback)


async def _topics(update: Update, context: Context, callback: keyboards.Callback) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await reader.topics_command(update, context)


async def _latest(update: Update, context: Context, callback: keyboards.Callback) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await reader.latest(update, context)


async def _latest_page(update: Update, context: Context, callback: keyboards.Callback) -> None:
    page = await _page(update, context, callback)
    if page is not None:
        await reader.latest_page(update, context, page, turn=True)


async def _topic_page(update: Update, context: Context, callback: keyboards.Callback) -> None:
    page = await _page(update, context, callback)
    if page is None:
        return
    target = await target_for(update, context)
    slug = callback.args["slug"]
    if services_of(context).catalogue.get(slug) is None:
        await _expired(update, context)
        return
    await reader.show_topic(update, context, target, slug, page, turn=True)


async def _page(update: Update, context: Context, callback: keyboards.Callback) -> int | None:
    """The page a paging button asks for, or None (and the expired notice) when
    it is past what paging ever reaches: such data was never made here, and it
    costs no query."""
    page = int(callback.args["page"])
    if page_in_reach(page, PAGE_SIZE):
        return page
    await _expired(update, context)
    return None


async def _expired(update: Update, context: Context) -> None:
    assert update.callback_query is not None
    target = await target_for(update, context)
    await update.callback_query.answer(
        t(target.ui_language, "reader.button_expired"), show_alert=True
    )


async def _topic(update: Update, context: Context, callback: keyboards.Callback) -> None:
    query = update.callback_query
    assert query is not None
    target = await target_for(update, context)
    slug = callback.args["slug"]
    if services_of(context).catalogue.get(slug) is None:
        await query.answer(t(target.ui_language, "reader.button_expired"), show_alert=True)
        return
    await query.answer()
    await reader.show_topic(update, context, target, slug)


async def _toggle(update: Update, context: Context, callback: keyboards.Callback) -> None:
    await subscriptions.toggle_topic(update, context, callback.args["slug"])


async def _unsubscribe(update: Update, context: Context, callback: keyboards.Callback) -> None:
    await subscriptions.remove_button(update, context, int(callback.args["id"]))


async def _unsubscribe_all(update: Update, context: Context, callback: keyboards.Callback) -> None:
    await subscriptions.remove_all_button(
        update, context, int(callback.args["target"]), int(callback.args["upto"])
    )


async def _unsubscribe_keep(update: Update, context: Context, callback: keyboards.Callback) -> None:
    await subscriptions.keep_all_button(update, context)


async def _digest_page(update: Update, context: Context, callback: keyboards.Callback) -> None:
    assert update.callback_query is not None
    await digest.more_button(update, context, update.callback_query.data or "")


async def _settings_menu(update: Update, context: Context, callback: keyboards.Callback) -> None:
    await settings.menu_button(update, context, callback.args["menu"])


async def _settings_set(update: Update, context: Context, callback: keyboards.Callback) -> None:
    await settings.set_button(update, context, callback.args["field"], callback.args["value"])


async def _more_results(
    update: Update, context: ContextTypes.DEFAULT_TYPE, callback: keyboards.Callback
) -> None:
    page = await _page(update, context, callback)
    if page is None:
        return
    if callback.kind == "search":
        text: str | None = callback.args["query"]
    else:
        text = context.bot_data.get(reader.SEARCH_KEYS, {}).get(callback.args["key"])
    if text is None:
        await _expired(update, context)
        return
    await reader.run_search(update, context, text, page, turn=True)


# kind (as in keyboards.KINDS) → what pressing it does
HANDLERS: dict[str, ButtonHandler] = {
    "topics": _topics,
    "latest": _latest,
    "latest_page": _latest_page,
    "topic": _topic,
    "topic_page": _topic_page,
    "toggle": _toggle,
    "search": _more_results,
    "search_key": _more_results,
    "unsubscribe": _unsubscribe,
    "unsubscribe_all": _unsubscribe_all,
    "unsubscribe_keep": _unsubscribe_keep,
    "digest_page": _digest_page,
    "settings_view": _settings_menu,
    "settings_menu": _settings_menu,
    "settings_set": _settings_set,
}
