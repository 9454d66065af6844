"""/pair and /unpair: an admin corrects which articles are one story."""

from __future__ import annotations

from telegram import Update

from bot.admin import pairing
from bot.i18n import t
from bot.numbers import whole_number
from bot.telegram.context import Context
from bot.telegram.handlers.admin.access import admin_id, arguments
from bot.telegram.handlers.common import reply, target_for
from bot.telegram.services import services_of


def _ids(text: str) -> list[int] | None:
    """Article numbers as typed (`12 34`, `#12 #34`); None when any is not one."""
    ids = [whole_number(word.lstrip("#")) for word in text.split()]
    return None if any(i is None for i in ids) else [i for i in ids if i is not None]


async def pair_command(update: Update, context: Context) -> None:
    language = (await target_for(update, context)).ui_language
    ids = _ids(arguments(update))
    if ids is None or len(ids) != 2:
        await reply(update, context, t(language, "admin.pair_usage"))
        return
    first, second = ids
    result = await pairing.pair(services_of(context), first, second, admin_id=admin_id(update))
    await reply(update, context, pairing.pair_text(result, first, second, language))


async def unpair_command(update: Update, context: Context) -> None:
    language = (await target_for(update, context)).ui_language
    ids = _ids(arguments(update))
    if ids is None or len(ids) != 1:
        await reply(update, context, t(language, "admin.unpair_usage"))
        return
    result = await pairing.unpair(services_of(context), ids[0], admin_id=admin_id(update))
    await reply(update, context, pairing.unpair_text(result, language))
