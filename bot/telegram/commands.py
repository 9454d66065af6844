"""The command menus: which commands each kind of user sees, in both languages."""

from __future__ import annotations

from collections.abc import Iterable

from telegram import BotCommand

from bot.i18n import t

READER_COMMANDS = (
    "start",
    "help",
    "latest",
    "search",
    "topics",
    "topic",
    "subscribe",
    "unsubscribe",
    "mysubs",
    "digest",
    "settings",
)
ADMIN_COMMANDS = (
    "broadcast",
    "broadcast_cancel",
    "feeds",
    "feed_add",
    "feed_remove",
    "ingest",
    "import",
    "export",
    "stats",
    "channel",
    "channel_subscribe",
    "channel_unsubscribe",
    "channel_settings",
)


def menu(language: str, names: Iterable[str]) -> list[BotCommand]:
    return [BotCommand(name, t(language, f"commands.{name}")) for name in names]
