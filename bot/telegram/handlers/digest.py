"""/digest and the digest's "show more" button."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.digest.dispatch import more_page
from bot.digest.preview import digest_on_request
from bot.i18n import t
from bot.telegram.context import Context
from bot.telegram.handlers.common import refuse_non_admin, reply, target_for
from bot.telegram.services import services_of


async def digest_command(update: Update, context: Context) -> None:
    """Send the pending digest now (it counts as delivered); with nothing
    pending, a sample of one, which moves nothing."""
    services = services_of(context)
    target = await target_for(update, context)
    if await refuse_non_admin(update, context, target):
        return
    answer = await digest_on_request(services, target, services.now())
    if answer.replies:
        await reply(update, context, answer.replies)


async def more_button(update: Update, context: Context, data: str) -> None:
    services = services_of(context)
    query = update.callback_query
    assert query is not None
    target = await target_for(update, context)
    pages = await more_page(services, data, pressed_in=target, now=services.now())
    if not pages:
        key = "digest.page_gone" if pages is None else "digest.page_empty"
        await query.answer(t(target.ui_language, key), show_alert=True)
        return
    await query.answer()
    if not await _take_button(update, context):
        return  # pressed again before the first press took it: its page is on its way
    for page in pages:
        markup = (
            InlineKeyboardMarkup.de_json(page.reply_markup, context.bot)
            if page.reply_markup
            else None
        )
        await reply(update, context, page.text, markup)


async def _take_button(update: Update, context: Context) -> bool:
    """Remove the pressed "show more" button, so that its page comes once: the next
    page brings its own button, and a second press (a double tap, a slow client)
    finds this one gone. False when an earlier press already took it; a message
    that cannot be edited (deleted meanwhile) still gets its page."""
    query = update.callback_query
    message = query.message if query is not None else None
    if message is None:
        return True
    try:
        await context.bot.edit_message_reply_markup(
            chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
        )
    except BadRequest as exc:
        return "not modified" not in str(exc).lower()
    return True
