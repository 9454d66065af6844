"""The bot joining or leaving chats (`my_chat_member`): no failed sends needed
to learn that a chat is gone."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.ext import ContextTypes

from bot.store import chats
from bot.telegram.services import services_of

log = logging.getLogger(__name__)

GONE = (ChatMember.LEFT, ChatMember.BANNED)


async def my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    if change is None:
        return
    services = services_of(context)
    chat = change.chat
    status = change.new_chat_member.status
    if status in GONE or (chat.type == "channel" and status != ChatMember.ADMINISTRATOR):
        dropped = await chats.deactivate_chat(services.db, chat.id, f"bot {status}")
        log.info("chat %s deactivated (%s), %d pending dropped", chat.id, status, dropped)
        return
    await chats.save_chat(
        services.db,
        chat_id=chat.id,
        type=chat.type,  # type: ignore[arg-type]
        title=chat.title or chat.full_name,
        username=chat.username,
        is_forum=bool(chat.is_forum),
        added_by=change.from_user.id,
        now=services.now(),
    )
    await chats.reactivate_chat(services.db, chat.id)
