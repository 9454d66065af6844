"""Admin commands and buttons: broadcasts, feeds, OPML, statistics.

Every handler here is wrapped in `admin_only`, which checks the user against
ADMIN_IDS on each update (commands, buttons and documents alike), so a forged
button or a guessed command gets the same short refusal as a typed one and
reaches nothing. The handlers run in their own group ahead of the reader's, and
stop the update there, so the reader's catch-all "unknown command" and button
handlers never see it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import (
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.admin import broadcast, collect, opml
from bot.admin import feeds as admin_feeds
from bot.admin.audience import Audience, AudienceError, body_html, describe
from bot.admin.audience import parse as parse_audience
from bot.admin.chart import render_chart
from bot.admin.progress import RateMeter, progress_text
from bot.admin.stats import stats_text
from bot.i18n import LANGUAGES, t
from bot.ingest.entry import SourceError
from bot.store import admin as admin_store
from bot.store import broadcasts, feeds
from bot.store.broadcasts import Broadcast
from bot.store.outbox import BroadcastProgress
from bot.telegram.commands import ADMIN_COMMANDS, READER_COMMANDS, menu
from bot.telegram.format import MESSAGE_LIMIT, escape, link, pack, truncate, visible_length
from bot.telegram.handlers.common import (
    NO_PREVIEW,
    edit_or_reply,
    reply,
    target_for,
    user_language,
)
from bot.telegram.services import SERVICES_KEY, Services, services_of

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]

ADMIN_GROUP = -1
PROGRESS_EVERY = 3.0  # seconds between edits of a progress message
INSTALLED_KEY = "admin_handlers_installed"
METER_KEY = "admin_rate_meter"
# ab:c:<id> confirms a broadcast draft, ab:x:<id> cancels a draft or stops a broadcast.
BUTTON = re.compile(r"^ab:(?P<action>[cx]):(?P<id>\d{1,12})$")
IMPORT_CAPTION = re.compile(r"^/import(@\w+)?(\s|$)", re.IGNORECASE)


# -- access ----------------------------------------------------------------------


def admin_only(handler: Handler) -> Handler:
    """Run `handler` only for an admin in a private chat; refuse anyone else
    without saying what the command would have done. Either way the update
    goes no further."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: Context) -> None:
        services = services_of(context)
        user, chat = update.effective_user, update.effective_chat
        if user is None or user.id not in services.settings.admin_ids:
            log.info("admin update refused for user %s", user.id if user else None)
            await _refuse(update, context, "admin.not_admin")
        elif chat is None or chat.type != ChatType.PRIVATE:
            await _refuse(update, context, "admin.private_only")
        else:
            try:
                await handler(update, context)
            except Exception as exc:
                await context.application.process_error(update, exc)
        raise ApplicationHandlerStop

    return guarded


async def _refuse(update: Update, context: Context, key: str) -> None:
    text = t(user_language(update, services_of(context)), key)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, context, text)


def _admin_id(update: Update) -> int:
    assert update.effective_user is not None  # admin_only let it through
    return update.effective_user.id


def _arguments(update: Update) -> str:
    """The text after the command word."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message else []
    return parts[1] if len(parts) > 1 else ""


# -- broadcasts ------------------------------------------------------------------


def _button(language: str, key: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(t(language, key), callback_data=data)


def confirm_keyboard(broadcast_id: int, language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(language, "admin.btn_confirm", f"ab:c:{broadcast_id}"),
                _button(language, "admin.btn_cancel", f"ab:x:{broadcast_id}"),
            ]
        ]
    )


def stop_keyboard(broadcast_id: int, language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(language, "admin.btn_stop", f"ab:x:{broadcast_id}")]])


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
    made = await broadcast.draft(
        services.db,
        request.audience,
        admin_id=_admin_id(update),
        admin_chat_id=chat.id,
        method=method,
        params=params,
        now=services.now(),
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
        confirm_keyboard(made.broadcast.id, language),
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


async def on_button(update: Update, context: Context) -> None:
    """Confirm or cancel a draft, or stop a broadcast being sent."""
    services = services_of(context)
    query = update.callback_query
    assert query is not None
    language = (await target_for(update, context)).ui_language
    match = BUTTON.match(query.data or "")
    found = None if match is None else await broadcasts.get(services.db, int(match["id"]))
    chat = update.effective_chat
    if match is None or found is None or chat is None or found.admin_chat_id != chat.id:
        await query.answer(t(language, "admin.button_expired"), show_alert=True)
        return
    if match["action"] == "c":
        await _confirm(update, context, found, language)
        return
    stopped = await broadcast.cancel(
        services.db, found.id, admin_id=_admin_id(update), now=services.now()
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


async def _confirm(update: Update, context: Context, draft: Broadcast, language: str) -> None:
    services = services_of(context)
    query = update.callback_query
    assert query is not None
    count = await broadcast.confirm(
        services.db, draft, admin_id=_admin_id(update), now=services.now()
    )
    if count is None:
        await query.answer(t(language, "admin.broadcast_not_draft"), show_alert=True)
        return
    services.wake_sender()
    # The first sample, so the first progress report already has a rate.
    _meter(context).observe(draft.id, services.clock(), 0)
    await query.answer()
    audience = describe(Audience.from_key(draft.audience), language, services.topic_names(language))
    text = progress_text(
        language, draft.id, audience, BroadcastProgress(remaining=count), rate=None
    )
    await edit_or_reply(update, context, text, stop_keyboard(draft.id, language))


async def broadcast_cancel_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    argument = _arguments(update).strip().lstrip("#")
    if argument and not argument.isdigit():
        await reply(update, context, t(language, "admin.broadcast_cancel_usage"))
        return
    stopped = await broadcast.cancel(
        services.db,
        int(argument) if argument else None,
        admin_id=_admin_id(update),
        now=services.now(),
    )
    if stopped is None:
        await reply(update, context, t(language, "admin.broadcast_nothing_to_cancel"))
        return
    found, count = stopped
    key = "admin.broadcast_draft_cancelled" if found.state == "draft" else "admin.broadcast_stopped"
    await reply(update, context, t(language, key, id=found.id, count=count))


def _meter(context: Context) -> RateMeter:
    meter: RateMeter = context.bot_data.setdefault(METER_KEY, RateMeter())
    return meter


async def _progress_tick(context: Context) -> None:
    """The repeating job: refresh every unfinished broadcast's progress message."""
    services: Services | None = context.bot_data.get(SERVICES_KEY)
    if services is None:
        return
    meter = _meter(context)

    async def show(found: Broadcast, text: str, final: bool, language: str) -> bool:
        keyboard = None if final else stop_keyboard(found.id, language)
        return await _show_progress(context, services, found, text, keyboard)

    await broadcast.report_progress(
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


# -- feeds -----------------------------------------------------------------------


async def feeds_command(update: Update, context: Context) -> None:
    services = services_of(context)
    target = await target_for(update, context)
    language, now = target.ui_language, services.now()
    listed = await feeds.list_feeds(services.db)
    await admin_store.audit(services.db, _admin_id(update), "feeds", now=now)
    if not listed:
        await reply(update, context, t(language, "admin.feeds_none"))
        return
    counts = await admin_store.articles_per_feed(services.db)
    blocks = [
        admin_feeds.feed_block(
            feed, counts.get(feed.id, 0), now=now, language=language, timezone=target.timezone
        )
        for feed in listed
    ]
    header = t(language, "admin.feeds_header", count=len(listed))
    await reply(update, context, pack(blocks, header=header))


async def feed_add_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    url = _arguments(update).strip()
    if not url or len(url.split()) > 1:
        await reply(update, context, t(language, "admin.feed_add_usage"))
        return
    try:
        added = await admin_feeds.add_feed(services, url, admin_id=_admin_id(update))
    except admin_feeds.AlreadyPolled as exc:
        name = escape(truncate(exc.feed.name, 120))
        await reply(update, context, t(language, "admin.feed_already", id=exc.feed.id, name=name))
        return
    except SourceError as exc:
        error = escape(truncate(str(exc), 300))
        await reply(update, context, t(language, "admin.feed_add_failed", error=error))
        return
    feed = added.feed
    await reply(
        update,
        context,
        t(
            language,
            "admin.feed_added",
            id=feed.id,
            name=escape(truncate(feed.name, 120)),
            seen=added.seen,
            new=added.new,
        ),
    )


async def feed_remove_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    argument = _arguments(update).strip().lstrip("#")
    if not argument.isdigit():
        await reply(update, context, t(language, "admin.feed_remove_usage"))
        return
    removed = await admin_feeds.remove_feed(services, int(argument), admin_id=_admin_id(update))
    if removed is None:
        await reply(update, context, t(language, "admin.feed_remove_unknown", id=int(argument)))
        return
    name = escape(truncate(removed.name, 120))
    await reply(update, context, t(language, "admin.feed_removed_ok", id=removed.id, name=name))


async def ingest_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    if await admin_store.feeds_polled(services.db) == 0:
        await reply(update, context, t(language, "admin.ingest_none"))
        return
    polled = await admin_feeds.poll_all(services, admin_id=_admin_id(update))
    report = polled.report
    text = t(
        language,
        "admin.ingest_report",
        polled=report.polled,
        unchanged=report.not_modified,
        failed=report.failed,
        new=report.new_articles,
    )
    if polled.newest:
        lines = [f"• {link(a.url, truncate(a.title, 120))}" for a in polled.newest]
        text += "\n\n" + t(language, "admin.ingest_new_header") + "\n" + "\n".join(lines)
    await reply(update, context, text)


async def import_command(update: Update, context: Context) -> None:
    """/import typed without a file: say how it works."""
    language = (await target_for(update, context)).ui_language
    await reply(update, context, t(language, "admin.import_usage"))


async def import_document(update: Update, context: Context) -> None:
    """An .opml file sent with the caption /import."""
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    message = update.effective_message
    document = message.document if message is not None else None
    if document is None:
        return
    limit = f"{opml.MAX_BYTES // 1024} KB"
    if document.file_size is not None and document.file_size > opml.MAX_BYTES:
        await reply(update, context, t(language, "admin.import_too_large", limit=limit))
        return
    data = bytes(await (await context.bot.get_file(document.file_id)).download_as_bytearray())
    try:
        parsed = opml.read_opml(data)
    except opml.OpmlError as exc:
        await reply(update, context, t(language, "admin.import_failed", error=escape(str(exc))))
        return
    result = await admin_feeds.import_feeds(services, parsed, admin_id=_admin_id(update))
    await reply(
        update,
        context,
        t(
            language,
            "admin.import_report",
            added=result.added,
            already=result.already,
            skipped=result.skipped,
        ),
    )


async def export_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    chat = update.effective_chat
    assert chat is not None
    data, count = await admin_feeds.export_feeds(services, admin_id=_admin_id(update))
    await context.bot.send_document(
        chat.id,
        document=data,
        filename="feeds.opml",
        caption=t(language, "admin.export_caption", count=count),
        parse_mode=ParseMode.HTML,
    )


# -- statistics ------------------------------------------------------------------


async def stats_command(update: Update, context: Context) -> None:
    """The numbers as text, then the 30-day chart as a photo."""
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    chat = update.effective_chat
    assert chat is not None
    now = services.now()
    snapshot = await collect.snapshot(services.db, now)
    await admin_store.audit(services.db, _admin_id(update), "stats", now=now)
    await reply(update, context, stats_text(snapshot, language, services.topic_names(language)))
    series = await collect.chart_series(services.db, now)
    png = await asyncio.to_thread(render_chart, series, language)
    await context.bot.send_photo(
        chat.id, photo=png, caption=t(language, "admin.chart_caption"), parse_mode=ParseMode.HTML
    )


# -- wiring ----------------------------------------------------------------------

COMMANDS: dict[str, Handler] = {
    "broadcast": broadcast_command,
    "broadcast_cancel": broadcast_cancel_command,
    "feeds": feeds_command,
    "feed_add": feed_add_command,
    "feed_remove": feed_remove_command,
    "ingest": ingest_command,
    "import": import_command,
    "export": export_command,
    "stats": stats_command,
}


def add_admin_handlers(application: App) -> None:
    """Install the admin commands, buttons, /import documents and the progress job.

    They go in group -1, ahead of the reader's handlers. Calling this twice
    installs nothing more.
    """
    if application.bot_data.get(INSTALLED_KEY):
        return
    application.bot_data[INSTALLED_KEY] = True
    only_messages = filters.UpdateType.MESSAGE  # an edited "/broadcast" is not a new one
    for name, handler in COMMANDS.items():
        application.add_handler(
            CommandHandler(name, admin_only(handler), filters=only_messages), group=ADMIN_GROUP
        )
    application.add_handler(
        MessageHandler(
            only_messages & filters.Document.ALL & filters.CaptionRegex(IMPORT_CAPTION),
            admin_only(import_document),
        ),
        group=ADMIN_GROUP,
    )
    application.add_handler(
        CallbackQueryHandler(admin_only(on_button), pattern=r"^ab:"), group=ADMIN_GROUP
    )
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("the JobQueue is missing: install python-telegram-bot[job-queue]")
    queue.run_repeating(
        _progress_tick,
        PROGRESS_EVERY,
        first=PROGRESS_EVERY,
        name="broadcast-progress",
        job_kwargs={"coalesce": True, "max_instances": 1},
    )


async def set_admin_commands(application: App) -> None:
    """Each admin's command menu: the reader's commands and the admin ones, in
    both languages, scoped to that admin's private chat only."""
    settings = application.bot_data["settings"]
    bot = application.bot
    for language in (None, *LANGUAGES):
        texts = language or "en"
        commands = menu(texts, READER_COMMANDS + ADMIN_COMMANDS)
        for admin_id in settings.admin_ids:
            try:
                await bot.set_my_commands(
                    commands, scope=BotCommandScopeChat(admin_id), language_code=language
                )
            except TelegramError as exc:  # e.g. the admin never opened a chat with the bot
                log.warning("could not set the admin menu for %s: %s", admin_id, exc)


__all__ = ["add_admin_handlers", "set_admin_commands"]
