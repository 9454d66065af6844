"""The one error handler: log with context, apologise in the user's language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.i18n import language_of, t
from bot.telegram.context import Context

log = logging.getLogger("bot.errors")


def describe(update: object) -> str:
    if isinstance(update, Update):
        chat = update.effective_chat
        user = update.effective_user
        kind = next(
            (
                name
                for name in (
                    "message",
                    "callback_query",
                    "inline_query",
                    "channel_post",
                    "my_chat_member",
                )
                if getattr(update, name, None)
            ),
            "update",
        )
        chat_id = chat.id if chat else None
        user_id = user.id if user else None
        return f"{kind} {update.update_id} chat={chat_id} user={user_id}"
    return type(update).__name__


async def on_error(update: object, context: Context) -> None:
    log.error("error while handling %s", describe(update), exc_info=context.error)
    if not isinstance(update, Update):
        return
    user = update.effective_user
    language = language_of(user.language_code if user else None)
    text = t(language, "reader.error_apology")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_chat is not None and update.effective_chat.type != ChatType.CHANNEL:
            await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError as exc:
        log.warning("could not apologise for %s: %s", describe(update), exc)
