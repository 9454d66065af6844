"""/settings: a menu of buttons, and the same settings as arguments for scripts.

What a value means and what is stored live in `bot.reader.settings`; here
are the menus and pickers."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.formatting import escape
from bot.i18n import t
from bot.preferences import Invalid
from bot.reader import settings as setting
from bot.reader.settings import ZONES_LISTED, Saved, summary
from bot.telegram import keyboards
from bot.telegram.context import Context
from bot.telegram.handlers.common import edit_or_reply, refuse_non_admin, reply, target_for
from bot.telegram.services import services_of

PICK_KEYS = {
    "mode": "pick_mode",
    "time": "pick_time",
    "day": "pick_day",
    "tz": "pick_timezone",
    "lang": "pick_language",
    "alang": "pick_articles",
    "prev": "pick_previews",
}


async def settings_command(update: Update, context: Context) -> None:
    target = await target_for(update, context)
    args = context.args or []
    if not args:
        now = services_of(context).now()
        await reply(
            update, context, summary(target, now), keyboards.settings_keyboard(target.ui_language)
        )
        return
    if await refuse_non_admin(update, context, target):
        return
    services = services_of(context)
    now = services.now()
    result = await setting.change(services.db, target, args[0], " ".join(args[1:]), now)
    language = target.ui_language
    await reply(update, context, setting.answer(result, language, now), keyboard(result, language))


def keyboard(result: Saved | Invalid, language: str) -> InlineKeyboardMarkup | None:
    """The menu after a change; the zones to choose from when a name could
    mean several; nothing after any other mistake."""
    if isinstance(result, Saved):
        return keyboards.settings_keyboard(result.target.ui_language)
    if result.candidates:
        return keyboards.timezone_choices(result.candidates[:ZONES_LISTED], language)
    return None


async def menu_button(update: Update, context: Context, menu: str) -> None:
    target = await target_for(update, context)
    query = update.callback_query
    assert query is not None
    language = target.ui_language
    now = services_of(context).now()
    if menu == "done":
        await query.answer()
        await edit_or_reply(update, context, summary(target, now))
        return
    await query.answer()
    if menu == "main":
        await edit_or_reply(
            update, context, summary(target, now), keyboards.settings_keyboard(language)
        )
        return
    text = (
        summary(target, now)
        + "\n\n"
        + t(language, f"settings.{PICK_KEYS[menu]}", timezone=escape(target.timezone))
    )
    await edit_or_reply(update, context, text, keyboards.settings_picker(menu, target, language))


async def set_button(update: Update, context: Context, field: str, value: str) -> None:
    target = await target_for(update, context)
    query = update.callback_query
    assert query is not None
    services = services_of(context)
    result = await setting.change(services.db, target, field, value, services.now())
    if isinstance(result, Invalid):
        await query.answer(t(target.ui_language, "reader.button_expired"), show_alert=True)
        return
    target = result.target
    await query.answer(setting.saved_text(result.change, target.ui_language))
    await edit_or_reply(
        update,
        context,
        summary(target, services.now()),
        keyboards.settings_keyboard(target.ui_language),
    )
