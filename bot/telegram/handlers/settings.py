"""/settings: a menu of buttons, and the same settings as arguments for scripts."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.preferences import (
    COMMON_ZONES,
    FIELDS,
    MODES,
    WEEKDAYS,
    Change,
    Invalid,
    format_minute,
    parse_change,
)
from bot.store import chats
from bot.store.chats import Target
from bot.telegram import keyboards
from bot.telegram.format import escape, truncate
from bot.telegram.handlers.common import edit_or_reply, refuse_non_admin, reply, target_for
from bot.telegram.services import Services, services_of

PICK_KEYS = {
    "mode": "pick_mode",
    "time": "pick_time",
    "day": "pick_day",
    "tz": "pick_timezone",
    "lang": "pick_language",
    "alang": "pick_articles",
}
SCHEDULE_COLUMNS = ("digest_mode", "digest_minute", "digest_weekday", "timezone")


def summary(target: Target) -> str:
    language = target.ui_language
    articles = (
        t(language, f"settings.language_{target.article_language}")
        if target.article_language
        else t(language, "settings.articles_any")
    )
    return t(
        language,
        "settings.menu",
        mode=t(language, f"settings.mode_{target.digest_mode}"),
        time=format_minute(target.digest_minute),
        day=t(language, f"settings.day_{target.digest_weekday}"),
        timezone=escape(target.timezone),
        language=t(language, f"settings.language_{language}"),
        articles=articles,
    )


def valid_values(field: str, language: str) -> str:
    if field == "digest":
        return ", ".join(MODES)
    if field == "time":
        return t(language, "settings.valid_time")
    if field == "day":
        return ", ".join(WEEKDAYS)
    if field == "timezone":
        return t(language, "settings.valid_timezone") + f" ({', '.join(COMMON_ZONES[:3])}…)"
    if field == "language":
        return "en, es"
    return "any, en, es"


async def apply(services: Services, target: Target, change: Change) -> Target:
    target = await chats.update_target(services.db, target.id, **{change.column: change.value})
    if change.column in SCHEDULE_COLUMNS:
        target = await services.schedule(target)
    return target


async def change_by_arguments(
    services: Services, target: Target, args: Sequence[str]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """`/settings <field> <value>`: the answer, with the menu when it worked."""
    change = parse_change(args[0], " ".join(args[1:]))
    if isinstance(change, Invalid):
        return invalid_text(change, target.ui_language), None
    target = await apply(services, target, change)
    return summary(target), keyboards.settings_keyboard(target.ui_language)


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    target = await target_for(update, context)
    args = context.args or []
    if not args:
        await reply(
            update, context, summary(target), keyboards.settings_keyboard(target.ui_language)
        )
        return
    if await refuse_non_admin(update, context, target):
        return
    text, markup = await change_by_arguments(services_of(context), target, args)
    await reply(update, context, text, markup)


def invalid_text(problem: Invalid, language: str) -> str:
    value = escape(truncate(problem.value, 60)) or "—"
    if problem.field is None:
        return t(language, "settings.invalid_field", value=value, valid=", ".join(FIELDS))
    return t(
        language,
        "settings.invalid_value",
        value=value,
        field=t(language, f"settings.field_{problem.field}"),
        valid=escape(valid_values(problem.field, language)),
    )


async def menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE, menu: str) -> None:
    target = await target_for(update, context)
    query = update.callback_query
    assert query is not None
    language = target.ui_language
    if menu == "done":
        await query.answer()
        await edit_or_reply(update, context, summary(target))
        return
    await query.answer()
    if menu == "main":
        await edit_or_reply(update, context, summary(target), keyboards.settings_keyboard(language))
        return
    text = (
        summary(target)
        + "\n\n"
        + t(language, f"settings.{PICK_KEYS[menu]}", timezone=escape(target.timezone))
    )
    await edit_or_reply(update, context, text, keyboards.settings_picker(menu, target, language))


async def set_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, field: str, value: str
) -> None:
    target = await target_for(update, context)
    query = update.callback_query
    assert query is not None
    change = parse_change(field, value)
    if isinstance(change, Invalid):
        await query.answer(t(target.ui_language, "reader.button_expired"), show_alert=True)
        return
    target = await apply(services_of(context), target, change)
    await query.answer(t(target.ui_language, "settings.saved", what=value))
    await edit_or_reply(
        update, context, summary(target), keyboards.settings_keyboard(target.ui_language)
    )
