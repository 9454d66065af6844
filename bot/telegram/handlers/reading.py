"""The 📖 Read button: an article's full text, sent to the chat that pressed it.

The parts come from `bot.reader.reading` (text and entities, split and
capped there) and go as replies, one after another in order, through the
bot's own sends (interactive: they go ahead of digests in the rate limiter).
A press that names an unknown article, or one without a full text, gets a
short answer on the button and nothing else.
"""

from __future__ import annotations

import logging

from telegram import MessageEntity, Update
from telegram.error import TelegramError

from bot.i18n import t
from bot.reader import reading
from bot.telegram import keyboards
from bot.telegram.context import Context
from bot.telegram.handlers.common import NO_PREVIEW, target_for, thread_of
from bot.telegram.services import services_of

log = logging.getLogger(__name__)


async def read_button(update: Update, context: Context, callback: keyboards.Callback) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None
    if chat is None:
        return
    services = services_of(context)
    target = await target_for(update, context)
    parts = await reading.read(
        services.db,
        int(callback.args["id"]),
        language=target.ui_language,
        max_parts=services.settings.read_max_parts,
    )
    if not parts:
        await query.answer(t(target.ui_language, "reading.unavailable"), show_alert=True)
        return
    await query.answer()
    thread = thread_of(update.effective_message) or None
    for part in parts:
        try:
            await context.bot.send_message(
                chat.id,
                part.text,
                entities=[MessageEntity.de_json(entity, None) for entity in part.entities],
                link_preview_options=NO_PREVIEW,
                message_thread_id=thread,
            )
        except TelegramError as exc:
            # The rest would read out of order without this part: stop here.
            log.warning("could not send part of article %s: %s", callback.args["id"], exc)
            return
