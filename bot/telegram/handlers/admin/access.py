"""Who may use the admin tools: ADMIN_IDS, checked on every update."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import (
    Update,
)
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
)

from bot.i18n import t
from bot.telegram.context import Context
from bot.telegram.handlers.common import chosen_language, reply
from bot.telegram.services import services_of

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]

ADMIN_GROUP = -1  # ahead of the reader's handlers, which never see what this group stops


def admin_only(handler: Handler) -> Handler:
    """Run `handler` only for an admin in a private chat; refuse anyone else
    without saying what the command would have done. Either way the update
    goes no further."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: Context) -> None:
        services = services_of(context)
        user, chat = update.effective_user, update.effective_chat
        if user is None or not services.is_admin(user.id):
            log.info("admin update refused for user %s", user.id if user else None)
            await refuse(update, context, "admin.not_admin")
        elif chat is None or chat.type != ChatType.PRIVATE:
            await refuse(update, context, "admin.private_only")
        else:
            try:
                await handler(update, context)
            except Exception as exc:
                await context.application.process_error(update, exc)
        raise ApplicationHandlerStop

    return guarded


async def refuse(update: Update, context: Context, key: str) -> None:
    text = t(await chosen_language(update, context), key)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, context, text)


def admin_id(update: Update) -> int:
    assert update.effective_user is not None  # admin_only let it through
    return update.effective_user.id


def arguments(update: Update) -> str:
    """The text after the command word."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message else []
    return parts[1] if len(parts) > 1 else ""
