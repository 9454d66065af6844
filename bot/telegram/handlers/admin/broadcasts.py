"""/broadcast: draft, preview, confirm, live progress, stop."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.admin import broadcasting
from bot.admin.audience import Audience, AudienceError, body_html, describe
from bot.admin.audience import parse as parse_audience
from bot.admin.progress import RateMeter, decimal, duration
from bot.formatting import MESSAGE_LIMIT, escape, truncate, visible_length
from bot.i18n import t
from bot.numbers import whole_number
from bot.services import Services
from bot.store import broadcasts
from bot.store.broadcasts import Broadcast
from bot.telegram.context import Context
from bot.telegram.handlers.admin.access import admin_id, arguments
from bot.telegram.handlers.common import (
    NO_PREVIEW,
    edit_or_reply,
    reply,
    target_for,
)
from bot.telegram.keyboards import KINDS, Callback
from bot.telegram.services import services_of

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between edits of a progress message


def _button(language: str, key: str, data: str, **values: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(t(language, key, **values), callback_data=data)


def confirm_keyboard(draft: broadcasting.Draft, language: str) -> InlineKeyboardMarkup:
    """Send (with its time at the free rate), Cancel, and when paid broadcasts are on,
    a ⭐ button with what the paid one would cost and take."""
    broadcast_id = draft.broadcast.id
    send = _button(
        language,
        "admin.btn_confirm",
        KINDS["broadcast_confirm"].data(id=broadcast_id),
        time=duration(draft.free.seconds),
    )
    cancel = _button(language, "admin.btn_cancel", KINDS["broadcast_stop"].data(id=broadcast_id))
    if draft.paid is None:
        return InlineKeyboardMarkup([[send, cancel]])
    paid = _button(
        language,
        "admin.btn_confirm_paid",
        KINDS["broadcast_paid"].data(id=broadcast_id),
        stars=decimal(draft.paid.stars, language),
        time=duration(draft.paid.seconds),
    )
    return InlineKeyboardMarkup([[send], [paid], [cancel]])


def stop_keyboard(broadcast_id: int, language: str) -> InlineKeyboardMarkup:
    stop = KINDS["broadcast_stop"].data(id=broadcast_id)
    return InlineKeyboardMarkup([[_button(language, "admin.btn_stop", stop)]])


async def broadcast_command(update: Update, context: Context) -> None:
    """/broadcast [audience] [text]: store a draft, show the preview and ask."""
    services = services_of(context)
    message, chat = update.effective_message, update.effective_chat
    assert message is not None
    assert chat is not None
    language = (await target_for(update, context)).ui_language
    text = message.text or ""
    command_end = len(text.split(maxsplit=1)[0]) if text.strip() else 0

    def resolve(name: str) -> str | None:
        topic = services.catalogue.resolve(name)
        return None if topic is None else topic.slug

    try:
        request = parse_audience(text[command_end:], resolve)
    except AudienceError as exc:
        values = {key: escape(truncate(value, 60)) for key, value in exc.values.items()}
        await reply(update, context, t(language, exc.key, **values))
        return
    source = message.reply_to_message
    if source is not None and request.body:
        await reply(update, context, t(language, "admin.broadcast_reply_or_text"))
        return
    if source is None and not request.body:
        await reply(update, context, t(language, "admin.broadcast_usage"))
        return
    if source is not None:
        method = "copyMessage"
        params: dict[str, Any] = {"from_chat_id": chat.id, "message_id": source.message_id}
    else:
        body = body_html(text, message.text_html, command_end + request.body_start)
        if visible_length(body) > MESSAGE_LIMIT:
            await reply(
                update, context, t(language, "admin.broadcast_too_long", limit=MESSAGE_LIMIT)
            )
            return
        method, params = "sendMessage", {"text": body, "parse_mode": ParseMode.HTML}
    audience = describe(request.audience, language, services.topic_names(language))
    made = await broadcasting.draft(
        services.db,
        request.audience,
        admin_id=admin_id(update),
        admin_chat_id=chat.id,
        method=method,
        params=params,
        now=services.now(),
        free_rate=services.settings.send_rate_per_second,
        paid_rate=services.settings.paid_broadcast_rate,
    )
    if made is None:
        await reply(update, context, t(language, "admin.broadcast_nobody", audience=audience))
        return
    if not await _preview(update, context, made.broadcast, language):
        return
    asked = await reply(
        update,
        context,
        t(
            language,
            "admin.broadcast_confirm",
            id=made.broadcast.id,
            audience=audience,
            count=made.size,
        ),
        confirm_keyboard(made, language),
    )
    if asked is not None:
        await broadcasts.set_progress_message(services.db, made.broadcast.id, asked.message_id)


async def _preview(update: Update, context: Context, draft: Broadcast, language: str) -> bool:
    """The message exactly as recipients will get it, sent to the admin."""
    services = services_of(context)
    chat_id = draft.admin_chat_id
    try:
        if draft.method == "copyMessage":
            await context.bot.copy_message(
                chat_id, draft.params["from_chat_id"], draft.params["message_id"]
            )
        else:
            await context.bot.send_message(chat_id, draft.params["text"], parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        await broadcasts.cancel(services.db, draft.id, admin_id=draft.admin_id, now=services.now())
        error = escape(truncate(str(exc), 200))
        await reply(update, context, t(language, "admin.broadcast_preview_failed", error=error))
        return False
    return True


async def _pressed(
    update: Update, context: Context, broadcast_id: int
) -> tuple[Broadcast, str] | None:
    """The broadcast a button of this admin chat names, and the chat's language;
    None (and the expired notice) for any other."""
    services = services_of(context)
    query = update.callback_query
    assert query is not None
    language = (await target_for(update, context)).ui_language
    found = await broadcasts.get(services.db, broadcast_id)
    chat = update.effective_chat
    if found is None or chat is None or found.admin_chat_id != chat.id:
        await query.answer(t(language, "admin.button_expired"), show_alert=True)
        return None
    return found, language


async def confirm_button(update: Update, context: Context, callback: Callback) -> None:
    """Send the draft at the free rate."""
    pressed = await _pressed(update, context, int(callback.args["id"]))
    if pressed is not None:
        await _confirm(update, context, *pressed, paid=False)


async def paid_button(update: Update, context: Context, callback: Callback) -> None:
    """Send the draft as a paid broadcast, if paid broadcasts are still on."""
    pressed = await _pressed(update, context, int(callback.args["id"]))
    if pressed is None:
        return
    if services_of(context).settings.paid_broadcast_rate <= 0:
        # Turned off since the preview was shown (or the button was forged).
        assert update.callback_query is not None
        await update.callback_query.answer(
            t(pressed[1], "admin.broadcast_paid_off"), show_alert=True
        )
        return
    await _confirm(update, context, *pressed, paid=True)


async def stop_button(update: Update, context: Context, callback: Callback) -> None:
    """Cancel a draft or stop a broadcast being sent."""
    pressed = await _pressed(update, context, int(callback.args["id"]))
    if pressed is None:
        return
    found, language = pressed
    services = services_of(context)
    query = update.callback_query
    assert query is not None
    stopped = await broadcasting.cancel(
        services.db, found.id, admin_id=admin_id(update), now=services.now()
    )
    if stopped is None:
        await query.answer(t(language, "admin.broadcast_not_draft"), show_alert=True)
    elif stopped[0].state == "draft":
        await query.answer()
        await edit_or_reply(
            update, context, t(language, "admin.broadcast_draft_cancelled", id=found.id)
        )
    else:
        # The progress job turns the message into the final summary.
        await query.answer(
            t(language, "admin.broadcast_stopped", id=found.id, count=stopped[1]), show_alert=True
        )


async def _confirm(
    update: Update, context: Context, draft: Broadcast, language: str, *, paid: bool
) -> None:
    services = services_of(context)
    query = update.callback_query
    assert query is not None
    count = await broadcasting.confirm(
        services.db, draft, admin_id=admin_id(update), now=services.now(), paid=paid
    )
    if count is None:
        await query.answer(t(language, "admin.broadcast_not_draft"), show_alert=True)
        return
    services.wake_sender()
    # The first sample, so the first progress report already has a rate.
    _meter(context).observe(draft.id, services.clock(), 0)
    await query.answer()
    audience = describe(Audience.from_key(draft.audience), language, services.topic_names(language))
    text = await broadcasting.first_report(
        services.db, draft, count, language=language, audience=audience, paid=paid
    )
    await edit_or_reply(update, context, text, stop_keyboard(draft.id, language))


async def broadcast_cancel_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    argument = arguments(update).strip().lstrip("#")
    broadcast_id = whole_number(argument)
    if argument and broadcast_id is None:
        await reply(update, context, t(language, "admin.broadcast_cancel_usage"))
        return
    stopped = await broadcasting.cancel(
        services.db,
        broadcast_id,
        admin_id=admin_id(update),
        now=services.now(),
    )
    if stopped is None:
        await reply(update, context, t(language, "admin.broadcast_nothing_to_cancel"))
        return
    found, count = stopped
    key = "admin.broadcast_draft_cancelled" if found.state == "draft" else "admin.broadcast_stopped"
    await reply(update, context, t(language, key, id=found.id, count=count))


def _meter(context: Context) -> RateMeter:
    return context.bot_data.rate_meter


async def progress_tick(context: Context) -> None:
    """The repeating job: refresh every unfinished broadcast's progress message, on
    the leading bot only (one edit of each message, however many bots share the store)."""
    if not context.bot_data.started:
        return
    services = context.bot_data.services
    if not services.leadership.leading:
        return
    meter = _meter(context)

    async def show(found: Broadcast, text: str, final: bool, language: str) -> bool:
        keyboard = None if final else stop_keyboard(found.id, language)
        return await _show_progress(context, services, found, text, keyboard)

    await broadcasting.report_progress(
        services.db,
        services.catalogue,
        now=services.clock(),
        meter=meter,
        show=show,
        default_language=services.settings.default_language,
    )


async def _show_progress(
    context: Context,
    services: Services,
    found: Broadcast,
    text: str,
    keyboard: InlineKeyboardMarkup | None,
) -> bool:
    """Edit the progress message; if it is gone, post a new one and follow that."""
    if found.progress_message_id is not None:
        try:
            await context.bot.edit_message_text(
                text,
                chat_id=found.admin_chat_id,
                message_id=found.progress_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                link_preview_options=NO_PREVIEW,
            )
            return True
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True
            log.info("broadcast %d: progress message not editable (%s)", found.id, exc)
        except Forbidden:
            return True  # the admin blocked the bot: nobody left to report to
        except TelegramError as exc:
            log.info("broadcast %d: could not show progress (%s)", found.id, exc)
            return False
    try:
        sent = await context.bot.send_message(
            found.admin_chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard
        )
    except Forbidden:
        return True
    except TelegramError as exc:
        log.info("broadcast %d: could not post progress (%s)", found.id, exc)
        return False
    await broadcasts.set_progress_message(services.db, found.id, sent.message_id)
    return True
