"""Every inline button press, routed by its kind (`keyboards.KINDS`).

`add_button_handlers` makes one CallbackQueryHandler per kind, with the kind's
pattern, from `KINDS` and `HANDLERS`: a kind without a handler (or a handler
without a kind) fails at start. Who may press each kind is checked once, before
its handler: by `may_press` for the reader's kinds, by `admin_only` (ahead of
every reader handler) for the admin's. Data this bot never made (forged, stale,
truncated) matches no kind and is answered with a short notice that changes
nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.i18n import t
from bot.search.service import PAGE_SIZE, page_in_reach
from bot.telegram import keyboards
from bot.telegram.context import Context
from bot.telegram.handlers import digest, reader, reading, settings, subscriptions
from bot.telegram.handlers.admin import broadcasts
from bot.telegram.handlers.admin.access import ADMIN_GROUP, admin_only
from bot.telegram.handlers.common import may_press, target_for
from bot.telegram.services import services_of

ButtonHandler = Callable[[Update, Context, keyboards.Callback], Awaitable[None]]
Press = Callable[[Update, Context], Coroutine[Any, Any, None]]


def add_button_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """One handler per kind of button, in `KINDS` order, then the catch-all."""
    for kind, rule in keyboards.KINDS.items():
        handler = HANDLERS[kind]
        if rule.who == "admin":
            application.add_handler(
                CallbackQueryHandler(admin_only(_pressed(kind, handler)), pattern=rule.pattern),
                group=ADMIN_GROUP,
            )
        else:
            application.add_handler(
                CallbackQueryHandler(_checked(kind, _pressed(kind, handler)), pattern=rule.pattern)
            )
    application.add_handler(CallbackQueryHandler(_unknown))


def _pressed(kind: str, handler: ButtonHandler) -> Press:
    """`handler` called with the press's parsed data (PTB has matched the pattern)."""

    async def press(update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        match = context.match
        if match is None or not keyboards.fits(query.data or ""):
            await _unknown(update, context)
            return
        await handler(update, context, keyboards.Callback(kind, match.groupdict()))

    return press


def _checked(kind: str, press: Press) -> Press:
    async def checked(update: Update, context: Context) -> None:
        if await may_press(update, context, kind):
            await press(update, context)

    return checked


async def _unknown(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    target = await target_for(update, context)
    await query.answer(t(target.ui_language, "reader.button_expired"))


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


async def _search(update: Update, context: Context, callback: keyboards.Callback) -> None:
    await _more_results(update, context, callback, callback.args["query"])


async def _search_key(update: Update, context: Context, callback: keyboards.Callback) -> None:
    text = context.bot_data.search_keys.get(callback.args["key"])
    await _more_results(update, context, callback, text)


async def _more_results(
    update: Update, context: Context, callback: keyboards.Callback, text: str | None
) -> None:
    page = await _page(update, context, callback)
    if page is None:
        return
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
    "search": _search,
    "search_key": _search_key,
    "unsubscribe": _unsubscribe,
    "unsubscribe_all": _unsubscribe_all,
    "unsubscribe_keep": _unsubscribe_keep,
    "digest_page": _digest_page,
    "read": reading.read_button,
    "settings_view": _settings_menu,
    "settings_menu": _settings_menu,
    "settings_set": _settings_set,
    "broadcast_confirm": broadcasts.confirm_button,
    "broadcast_paid": broadcasts.paid_button,
    "broadcast_stop": broadcasts.stop_button,
}
