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

from telegram import BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.languages import LANGUAGES
from bot.telegram.commands import ADMIN_COMMANDS, READER_COMMANDS, menu
from bot.telegram.handlers.admin.access import App, Handler, admin_only
from bot.telegram.handlers.admin.broadcasts import (
    PROGRESS_EVERY,
    broadcast_cancel_command,
    broadcast_command,
    on_button,
    progress_tick,
)
from bot.telegram.handlers.admin.feeds import (
    IMPORT_CAPTION,
    export_command,
    feed_add_command,
    feed_remove_command,
    feeds_command,
    import_command,
    import_document,
    ingest_command,
)
from bot.telegram.handlers.admin.stats import stats_command

log = logging.getLogger(__name__)

ADMIN_GROUP = -1  # ahead of the reader's handlers
INSTALLED_KEY = "admin_handlers_installed"

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
        progress_tick,
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
        for user_id in settings.admin_ids:
            try:
                await bot.set_my_commands(
                    commands, scope=BotCommandScopeChat(user_id), language_code=language
                )
            except TelegramError as exc:  # e.g. the admin never opened a chat with the bot
                log.warning("could not set the admin menu for %s: %s", user_id, exc)


__all__ = ["add_admin_handlers", "set_admin_commands"]
