"""The bot joining or leaving chats (`my_chat_member`): no failed sends needed
to learn that a chat is gone, and a channel's new admin rights are announced
to the bot admin who granted them."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError

from bot.channels import label
from bot.formatting import escape
from bot.i18n import language_of, t
from bot.services import Services
from bot.store import chats
from bot.telegram.context import Context
from bot.telegram.services import services_of

log = logging.getLogger(__name__)

GONE = (ChatMember.LEFT, ChatMember.BANNED)


def lost_access(change: ChatMemberUpdated) -> bool:
    """Removed, or (in a channel) no longer allowed to post."""
    status = change.new_chat_member.status
    if status in GONE:
        return True
    return change.chat.type == ChatType.CHANNEL and status != ChatMember.ADMINISTRATOR


async def my_chat_member(update: Update, context: Context) -> None:
    change = update.my_chat_member
    if change is None:
        return
    services = services_of(context)
    chat = change.chat
    if lost_access(change):
        dropped = await chats.deactivate_chat(
            services.db, chat.id, f"bot {change.new_chat_member.status}"
        )
        log.info("chat %s deactivated, %d pending messages dropped", chat.id, dropped)
        return
    was_admin = change.old_chat_member.status == ChatMember.ADMINISTRATOR
    saved = await chats.save_chat(
        services.db,
        chat_id=chat.id,
        type=chats.chat_type(chat.type),
        title=chat.title or chat.full_name,
        username=chat.username,
        is_forum=bool(chat.is_forum),
        added_by=change.from_user.id,
        now=services.now(),
    )
    await chats.reactivate_chat(services.db, chat.id)
    if chat.type == ChatType.CHANNEL and not was_admin:
        await _tell_admin(context, services, change, label(saved))


async def _tell_admin(
    context: Context, services: Services, change: ChatMemberUpdated, name: str
) -> None:
    """The bot admin who made the bot a channel admin learns how to configure it."""
    admin = change.from_user
    if not services.is_admin(admin.id):
        return
    language = language_of(admin.language_code, services.settings.default_language)
    reference = f"@{change.chat.username}" if change.chat.username else str(change.chat.id)
    text = t(language, "channels.added", channel=escape(name), ref=escape(reference))
    try:
        await context.bot.send_message(admin.id, text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        log.info("could not tell admin %s about channel %s: %s", admin.id, change.chat.id, exc)
