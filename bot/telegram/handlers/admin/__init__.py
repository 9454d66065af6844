"""Admin commands and buttons: broadcasts, feeds, OPML, statistics.

Every handler here is wrapped in `admin_only`, which checks the user against
ADMIN_IDS on each update (commands, buttons and documents alike), so a forged
button or a guessed command gets the same short refusal as a typed one and
reaches nothing. The handlers run in their own group ahead of the reader's, and
stop the update there, so the reader's catch-all "unknown command" and button
handlers never see it.
"""

from __future__ import annotations

import logging

from telegram.ext import MessageHandler, filters

from bot.telegram.handlers.admin.access import ADMIN_GROUP, App, admin_only
from bot.telegram.handlers.admin.broadcasts import PROGRESS_EVERY, progress_tick
from bot.telegram.handlers.admin.feeds import IMPORT_CAPTION, import_document

log = logging.getLogger(__name__)


def add_admin_handlers(application: App) -> None:
    """Install what the admin tools need besides their commands and buttons
    (bot/telegram/commands.py, bot/telegram/handlers/buttons.py): /import
    documents, in group -1 ahead of the reader's handlers, and the progress job."""
    only_messages = filters.UpdateType.MESSAGE  # an edited "/import" is not a new one
    application.add_handler(
        MessageHandler(
            only_messages & filters.Document.ALL & filters.CaptionRegex(IMPORT_CAPTION),
            admin_only(import_document),
        ),
        group=ADMIN_GROUP,
    )
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("the JobQueue is missing: install python-telegram-bot[job-queue]")
    queue.run_repeating(
        progress_tick,
        PROGRESS_EVERY,
        first=PROGRESS_EVERY,
        name="broadcast-progress",
        job_kwargs={"coalesce": True, "max_instances": 1},
    )


__all__ = ["add_admin_handlers"]
