"""Every command, once: its name, who sees it in which menu, where it may be
sent and what handles it.

Both the handlers the Application runs and the menus Telegram shows are made
from `COMMANDS`, so a command cannot be in a menu without a handler, nor
handled without being listed (tests/telegram/test_commands.py checks the
Application against this table).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, filters

from bot.i18n import t
from bot.languages import LANGUAGES
from bot.telegram.handlers import channels, digest, reader, settings, subscriptions
from bot.telegram.handlers.admin import broadcasts, feeds, pairing, stats
from bot.telegram.handlers.admin.access import ADMIN_GROUP, Handler, admin_only

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]

Menu = Literal["reader", "admin"]


@dataclass(frozen=True)
class Command:
    """One command.

    `menu`: "reader" commands are in everyone's menu (private chats and groups),
    "admin" ones only in the menu of each of ADMIN_IDS' private chats, beside the
    reader's. `admin_only`: the handler runs behind `admin_only` (the one check of
    ADMIN_IDS, in private chats only), ahead of every reader handler, and only for
    new messages (an edited "/broadcast" is not a new one). `private`: sent
    anywhere but a private chat, it is an unknown command. `in_channels`: an
    admin posting it in a channel configures that channel (only a channel's admins
    can post there).
    """

    name: str
    handler: Handler
    menu: Menu = "reader"
    admin_only: bool = False
    private: bool = False
    in_channels: bool = False


def _admin(name: str, handler: Handler) -> Command:
    return Command(name, handler, "admin", admin_only=True)


def _channel(name: str, handler: Handler) -> Command:
    """The channel tools check ADMIN_IDS themselves: their refusal names the channel."""
    return Command(name, handler, "admin", private=True)


# In menu order.
COMMANDS: tuple[Command, ...] = (
    Command("start", reader.start),
    Command("help", reader.help_command, in_channels=True),
    Command("latest", reader.latest),
    Command("search", reader.search_command),
    Command("topics", reader.topics_command),
    Command("topic", reader.topic_command),
    Command("subscribe", subscriptions.subscribe, in_channels=True),
    Command("unsubscribe", subscriptions.unsubscribe, in_channels=True),
    Command("mysubs", subscriptions.mysubs, in_channels=True),
    Command("digest", digest.digest_command),
    Command("settings", settings.settings_command, in_channels=True),
    _admin("broadcast", broadcasts.broadcast_command),
    _admin("broadcast_cancel", broadcasts.broadcast_cancel_command),
    _admin("feeds", feeds.feeds_command),
    _admin("feed_add", feeds.feed_add_command),
    _admin("feed_remove", feeds.feed_remove_command),
    _admin("ingest", feeds.ingest_command),
    _admin("import", feeds.import_command),
    _admin("export", feeds.export_command),
    _admin("stats", stats.stats_command),
    _admin("pair", pairing.pair_command),
    _admin("unpair", pairing.unpair_command),
    _channel("channel", channels.list_channels),
    _channel("channel_subscribe", channels.channel_subscribe),
    _channel("channel_unsubscribe", channels.channel_unsubscribe),
    _channel("channel_settings", channels.channel_settings),
)


def add_command_handlers(application: App) -> None:
    """One CommandHandler per command (and one more for channel posts where allowed)."""
    for command in COMMANDS:
        if command.admin_only:
            application.add_handler(
                CommandHandler(
                    command.name, admin_only(command.handler), filters.UpdateType.MESSAGE
                ),
                group=ADMIN_GROUP,
            )
            continue
        where = filters.ChatType.PRIVATE if command.private else None
        application.add_handler(CommandHandler(command.name, command.handler, where))
        if command.in_channels:
            application.add_handler(
                CommandHandler(command.name, command.handler, filters.UpdateType.CHANNEL_POST)
            )


def names(*menus: Menu) -> list[str]:
    return [command.name for command in COMMANDS if command.menu in menus]


def menu(language: str, names_: Iterable[str]) -> list[BotCommand]:
    return [BotCommand(name, t(language, f"commands.{name}")) for name in names_]


async def set_menus(application: App, admin_ids: Iterable[int]) -> None:
    """The menus in both languages (Telegram picks by the user's language): the
    reader's everywhere, and the reader's and the admin's in each admin's private
    chat only."""
    bot = application.bot
    for language in (None, *LANGUAGES):
        texts = language or "en"
        readers = menu(texts, names("reader"))
        for scope in (BotCommandScopeDefault(), BotCommandScopeAllGroupChats()):
            await bot.set_my_commands(readers, scope=scope, language_code=language)
        admins = menu(texts, names("reader", "admin"))
        for user_id in admin_ids:
            try:
                await bot.set_my_commands(
                    admins, scope=BotCommandScopeChat(user_id), language_code=language
                )
            except TelegramError as exc:  # e.g. the admin never opened a chat with the bot
                log.warning("could not set the admin menu for %s: %s", user_id, exc)
