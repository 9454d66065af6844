"""Every inline button press, routed by its parsed callback data.

Data this bot never made (forged, stale, truncated) is answered with a short
notice and changes nothing.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.telegram import keyboards
from bot.telegram.handlers import digest, reader, settings, subscriptions
from bot.telegram.handlers.common import target_for
from bot.telegram.services import services_of


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    callback = keyboards.parse(query.data)
    target = await target_for(update, context)
    if callback is None:
        await query.answer(t(target.ui_language, "reader.button_expired"))
        return
    args = callback.args
    if callback.kind == "topics":
        await query.answer()
        await reader.topics_command(update, context)
    elif callback.kind == "latest":
        await query.answer()
        await reader.latest(update, context)
    elif callback.kind == "topic":
        if services_of(context).catalogue.get(args["slug"]) is None:
            await query.answer(t(target.ui_language, "reader.button_expired"), show_alert=True)
            return
        await query.answer()
        await reader.show_topic(update, context, target, args["slug"])
    elif callback.kind == "toggle":
        await subscriptions.toggle_topic(update, context, args["slug"])
    elif callback.kind == "unsubscribe":
        await subscriptions.remove_button(update, context, int(args["id"]))
    elif callback.kind in ("search", "search_key"):
        await _more_results(update, context, callback)
    elif callback.kind == "digest_page":
        await digest.more_button(update, context, query.data or "")
    elif callback.kind == "settings_menu":
        await settings.menu_button(update, context, args["menu"])
    elif callback.kind == "settings_set":
        await settings.set_button(update, context, args["field"], args["value"])


async def _more_results(
    update: Update, context: ContextTypes.DEFAULT_TYPE, callback: keyboards.Callback
) -> None:
    query = update.callback_query
    assert query is not None
    page = int(callback.args["page"])
    if callback.kind == "search":
        text: str | None = callback.args["query"]
    else:
        text = context.bot_data.get(reader.SEARCH_KEYS, {}).get(callback.args["key"])
    if text is None:
        target = await target_for(update, context)
        await query.answer(t(target.ui_language, "reader.button_expired"), show_alert=True)
        return
    await query.answer()
    await reader.run_search(update, context, text, page)
