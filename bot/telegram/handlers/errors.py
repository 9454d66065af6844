"""The one error handler: log with context, tell the admins (throttled, by
`bot.alerts`), apologise in the user's language."""

from __future__ import annotations

import logging
from types import TracebackType

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.alerts import report_failure
from bot.i18n import language_of, t
from bot.telegram.context import Context
from bot.telegram.services import services_of

log = logging.getLogger("bot.errors")

HANDLERS = "bot.telegram.handlers"


def update_kind(update: Update) -> str:
    return next(
        (
            name
            for name in (
                "message",
                "edited_message",
                "callback_query",
                "inline_query",
                "channel_post",
                "my_chat_member",
                "chat_member",
            )
            if getattr(update, name, None)
        ),
        "update",
    )


def describe(update: object) -> str:
    if isinstance(update, Update):
        chat = update.effective_chat
        user = update.effective_user
        chat_id = chat.id if chat else None
        user_id = user.id if user else None
        return f"{update_kind(update)} {update.update_id} chat={chat_id} user={user_id}"
    return type(update).__name__


def failed_handler(error: BaseException | None) -> str | None:
    """The handler an exception came out of: the outermost frame of its
    traceback in the handlers' package (PTB's own frames come before it)."""
    tb: TracebackType | None = error.__traceback__ if error is not None else None
    while tb is not None:
        frame = tb.tb_frame
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith(HANDLERS + ".") and module != __name__:
            return f"{module.removeprefix(HANDLERS + '.')}.{frame.f_code.co_name}"
        tb = tb.tb_next
    return None


def place_of(update: object, error: BaseException | None) -> str:
    """What failed, for the admins' notice: a handler's name, or the kind of update."""
    handler = failed_handler(error)
    if handler is not None:
        return f"handler {handler}"
    kind = update_kind(update) if isinstance(update, Update) else type(update).__name__
    return f"handling a {kind}"


async def on_error(update: object, context: Context) -> None:
    fields: dict[str, object] = {}
    if isinstance(update, Update):
        chat = update.effective_chat
        fields = {
            "update_type": update_kind(update),
            "update_id": update.update_id,
            "chat_kind": chat.type if chat else None,
            "chat_id": chat.id if chat else None,
        }
    log.error("error while handling %s", describe(update), exc_info=context.error, extra=fields)
    if isinstance(update, Update):
        await _apologise(update, context)
    error = context.error
    if error is not None and _unexpected(update, error) and context.bot_data.started:
        place = f"job {context.job.name}" if context.job else place_of(update, error)
        await report_failure(services_of(context), place, error)


def _unexpected(update: object, error: BaseException) -> bool:
    """Whether the admins should hear of it: anything a handler or job raised, but
    not PTB's own trouble reaching Telegram while polling (no update, a Telegram
    error): that is the network's, retried by PTB and watched by the readiness probe."""
    return update is not None or not isinstance(error, TelegramError)


async def _apologise(update: Update, context: Context) -> None:
    """The user hears that it failed on our side (never the traceback)."""
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
