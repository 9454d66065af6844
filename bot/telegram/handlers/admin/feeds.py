"""/feeds, /feed_add, /feed_remove, /ingest, OPML import and export."""

from __future__ import annotations

import logging
import re

from telegram import (
    Update,
)
from telegram.constants import ParseMode

from bot.admin import feed_management, opml
from bot.formatting import escape, link, pack, truncate
from bot.i18n import t
from bot.ingest.entry import SourceError
from bot.numbers import whole_number
from bot.store import admin as admin_store
from bot.store import feeds
from bot.telegram.context import Context
from bot.telegram.handlers.admin.access import admin_id, arguments
from bot.telegram.handlers.common import (
    reply,
    target_for,
)
from bot.telegram.services import services_of

log = logging.getLogger(__name__)

IMPORT_CAPTION = re.compile(r"^/import(@\w+)?(\s|$)", re.IGNORECASE)


async def feeds_command(update: Update, context: Context) -> None:
    services = services_of(context)
    target = await target_for(update, context)
    language, now = target.ui_language, services.now()
    listed = await feeds.list_feeds(services.db)
    await admin_store.audit(services.db, admin_id(update), "feeds", now=now)
    if not listed:
        await reply(update, context, t(language, "admin.feeds_none"))
        return
    counts = await admin_store.articles_per_feed(services.db)
    blocks = [
        feed_management.feed_block(
            feed, counts.get(feed.id, 0), now=now, language=language, timezone=target.timezone
        )
        for feed in listed
    ]
    header = t(language, "admin.feeds_header", count=len(listed))
    await reply(update, context, pack(blocks, header=header))


async def feed_add_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    url = arguments(update).strip()
    if not url or len(url.split()) > 1:
        await reply(update, context, t(language, "admin.feed_add_usage"))
        return
    try:
        added = await feed_management.add_feed(services, url, admin_id=admin_id(update))
    except feed_management.AlreadyPolled as exc:
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
            seen=t(language, "admin.entries", count=added.seen),
            new=t(language, "admin.new_articles", count=added.new),
        ),
    )


async def feed_remove_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    feed_id = whole_number(arguments(update).strip().lstrip("#"))
    if feed_id is None:
        await reply(update, context, t(language, "admin.feed_remove_usage"))
        return
    removed = await feed_management.remove_feed(services, feed_id, admin_id=admin_id(update))
    if removed is None:
        await reply(update, context, t(language, "admin.feed_remove_unknown", id=feed_id))
        return
    name = escape(truncate(removed.name, 120))
    await reply(update, context, t(language, "admin.feed_removed_ok", id=removed.id, name=name))


async def ingest_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    if await admin_store.feeds_polled(services.db) == 0:
        await reply(update, context, t(language, "admin.ingest_none"))
        return
    polled = await feed_management.poll_all(services, admin_id=admin_id(update))
    report = polled.report
    text = t(
        language,
        "admin.ingest_report",
        polled=t(language, "admin.feeds_polled", count=report.polled),
        unchanged=report.not_modified,
        failed=report.failed,
        new=t(language, "admin.new_articles", count=report.new_articles),
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
    result = await feed_management.import_feeds(services, parsed, admin_id=admin_id(update))
    await reply(
        update,
        context,
        t(
            language,
            "admin.import_report",
            added=t(language, "admin.feeds_added", count=result.added),
            already=t(language, "admin.feeds_already", count=result.already),
            skipped=t(language, "admin.feeds_skipped", count=result.skipped),
        ),
    )


async def export_command(update: Update, context: Context) -> None:
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    chat = update.effective_chat
    assert chat is not None
    data, count = await feed_management.export_feeds(services, admin_id=admin_id(update))
    await context.bot.send_document(
        chat.id,
        document=data,
        filename="feeds.opml",
        caption=t(language, "admin.export_caption", count=count),
        parse_mode=ParseMode.HTML,
    )
