"""/stats: the numbers and a 30-day chart."""

from __future__ import annotations

import asyncio
import logging

from telegram import (
    Update,
)
from telegram.constants import ParseMode

from bot.admin import collect
from bot.admin.chart import render_chart
from bot.admin.stats import stats_text
from bot.i18n import t
from bot.store import admin as admin_store
from bot.telegram.context import Context
from bot.telegram.handlers.admin.access import admin_id
from bot.telegram.handlers.common import (
    reply,
    target_for,
)
from bot.telegram.services import services_of

log = logging.getLogger(__name__)


async def stats_command(update: Update, context: Context) -> None:
    """The numbers as text, then the 30-day chart as a photo."""
    services = services_of(context)
    language = (await target_for(update, context)).ui_language
    chat = update.effective_chat
    assert chat is not None
    now = services.now()
    snapshot = await collect.snapshot(services.db, now)
    await admin_store.audit(services.db, admin_id(update), "stats", now=now)
    await reply(update, context, stats_text(snapshot, language, services.topic_names(language)))
    series = await collect.chart_series(services.db, now)
    png = await asyncio.to_thread(render_chart, series, language)
    await context.bot.send_photo(
        chat.id, photo=png, caption=t(language, "admin.chart_caption"), parse_mode=ParseMode.HTML
    )
