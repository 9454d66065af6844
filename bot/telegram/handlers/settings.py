"""/settings: a menu of buttons, and the same settings as arguments for scripts."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.digest import schedule
from bot.digest.preview import next_digest_text
from bot.i18n import t
from bot.preferences import (
    FIELDS,
    MODES,
    WEEKDAYS,
    Change,
    Invalid,
    format_minute,
    parse_change,
)
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
ZONES_LISTED = 10  # of the zones an ambiguous name could mean


def summary(target: Target, now: int) -> str:
    """The settings as they stand, with when the next digest comes (`now`
    decides it for a target not scheduled yet)."""
    language = target.ui_language
    return t(
        language,
        "settings.menu",
        mode=t(language, f"settings.mode_{target.digest_mode}"),
        when=_when(target),
        next=next_digest_text(target, now),
        timezone=escape(target.timezone),
        language=t(language, f"settings.language_{language}"),
        articles=_articles(target.article_language, language),
    )


def _when(target: Target) -> str:
    """The time (and, weekly, the day) a digest comes: nothing for instant or off,
    where neither means anything."""
    mode, language = target.digest_mode, target.ui_language
    if mode not in ("daily", "weekly"):
        return ""
    return t(
        language,
        f"settings.when_{mode}",
        time=format_minute(target.digest_minute),
        day=t(language, f"settings.day_{target.digest_weekday}"),
    )


def _articles(code: str | None, language: str) -> str:
    return t(language, f"settings.language_{code}" if code else "settings.articles_any")


def saved_text(change: Change, language: str) -> str:
    """'✅ Saved: time 07:30.', in the language in force after the change."""
    value = change.value
    if change.field == "digest":
        shown = t(language, f"settings.mode_{value}")
    elif change.field == "time" and isinstance(value, int):
        shown = format_minute(value)
    elif change.field == "day":
        shown = t(language, f"settings.day_{value}")
    elif change.field == "language":
        shown = t(language, f"settings.language_{value}")
    elif change.field == "articles":
        shown = _articles(value if isinstance(value, str) else None, language)
    else:
        shown = str(value)
    field = t(language, f"settings.field_{change.field}")
    return t(language, "settings.saved", field=field, value=shown)


def valid_values(field: str, language: str) -> str:
    if field == "digest":
        return ", ".join(MODES)
    if field == "time":
        return t(language, "settings.valid_time")
    if field == "day":
        return ", ".join(WEEKDAYS)
    if field == "timezone":
        return t(language, "settings.valid_timezone")
    if field == "language":
        return "en, es"
    return "any, en, es"


async def apply(services: Services, target: Target, change: Change) -> Target:
    changes = {change.column: change.value}
    return await schedule.change_settings(services.db, target, changes, services.now())


async def change_by_arguments(
    services: Services, target: Target, args: Sequence[str]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """`/settings <field> <value>`: the answer, with the menu when it worked, or
    with the zones to choose from when a name could mean several."""
    change = parse_change(args[0], " ".join(args[1:]))
    if isinstance(change, Invalid):
        choices = keyboards.timezone_choices(change.candidates[:ZONES_LISTED], target.ui_language)
        return invalid_text(change, target.ui_language), choices if change.candidates else None
    target = await apply(services, target, change)
    text = saved_text(change, target.ui_language) + "\n\n" + summary(target, services.now())
    return text, keyboards.settings_keyboard(target.ui_language)


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
    text, markup = await change_by_arguments(services_of(context), target, args)
    await reply(update, context, text, markup)


def invalid_text(problem: Invalid, language: str) -> str:
    value = escape(truncate(problem.value, 60)) or "—"
    if problem.field is None:
        return t(language, "settings.invalid_field", value=value, valid=", ".join(FIELDS))
    if problem.candidates:
        zones = list(problem.candidates[:ZONES_LISTED])
        if len(problem.candidates) > ZONES_LISTED:
            zones.append("…")
        return t(language, "settings.ambiguous_timezone", value=value, zones=", ".join(zones))
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
    services = services_of(context)
    target = await apply(services, target, change)
    await query.answer(saved_text(change, target.ui_language))
    await edit_or_reply(
        update,
        context,
        summary(target, services.now()),
        keyboards.settings_keyboard(target.ui_language),
    )
