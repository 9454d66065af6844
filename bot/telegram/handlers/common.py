"""What every handler needs: the chat's target, its language, permission, replies."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import (
    ChatMember,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError

from bot.digest import schedule
from bot.i18n import language_of, t
from bot.services import Services
from bot.store import chats
from bot.store.chats import Target
from bot.telegram import keyboards
from bot.telegram.context import Context
from bot.telegram.services import services_of

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
ADMIN_STATUSES = (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def thread_of(message: Message | None) -> int:
    """The forum topic a message belongs to (0: the chat itself)."""
    if message is not None and message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return 0


def argument(update: Update) -> str:
    """Everything after the command, whitespace collapsed."""
    message = update.effective_message
    text = message.text if message and message.text else ""
    parts = text.split(maxsplit=1)
    return " ".join(parts[1].split()) if len(parts) > 1 else ""


def user_language(update: Update, services: Services) -> str:
    user = update.effective_user
    return language_of(user.language_code if user else None, services.settings.default_language)


async def chosen_language(update: Update, context: Context) -> str:
    """The language to refuse someone in: the one chosen in /settings, where
    Telegram's language code is only the first guess.

    A button's pop-up is seen by the presser alone, so it follows the presser's
    own chat with the bot; a message follows the chat it goes to. Nothing is
    created for a refusal: without a chosen language, Telegram's guess stands.
    """
    services = services_of(context)
    chat, user = update.effective_chat, update.effective_user
    if update.callback_query is not None and user is not None:
        where = (user.id, 0)
    elif chat is not None:
        where = (chat.id, thread_of(update.effective_message))
    else:
        return user_language(update, services)
    target = await chats.get_target(services.db, *where)
    return target.ui_language if target is not None else user_language(update, services)


async def target_for(update: Update, context: Context) -> Target:
    """This chat's (or forum topic's) target, created with defaults on first contact."""
    services = services_of(context)
    chat = update.effective_chat
    assert chat is not None
    thread = thread_of(update.effective_message)
    target = await chats.get_target(services.db, chat.id, thread)
    if target is not None:
        return target
    seen = chats.SeenChat(
        chat_id=chat.id,
        type=chats.chat_type(chat.type),
        title=chat.title or chat.full_name,
        username=chat.username,
        is_forum=bool(chat.is_forum),
        added_by=update.effective_user.id if update.effective_user else None,
    )
    new = chats.NewTarget(
        chat.id,
        thread,
        ui_language=user_language(update, services),
        timezone=services.settings.default_timezone,
    )
    return await schedule.open_target(services.db, new, services.now(), chat=seen)


async def may_configure(update: Update, context: Context) -> bool:
    """Private chats configure themselves; in groups and channels only their
    administrators may.

    A command posted in a channel needs no check, as only its admins can post
    there; but anyone who can see a channel's message can press its buttons, so
    a press is checked like any group member's.
    """
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    if chat.type == ChatType.CHANNEL and (update.channel_post or update.edited_channel_post):
        return True
    if user is None:
        return False
    return await _is_admin(context, chat.id, user.id)


async def _is_admin(context: Context, chat_id: int, user_id: int) -> bool:
    """getChatMember says creator or administrator; the answer is kept a minute.

    A failed check counts as "no" and is kept as long, so presses cannot turn
    into a stream of requests while Telegram is refusing them.
    """
    services = services_of(context)
    rights = services.rights
    known = rights.get(chat_id, user_id, services.clock())
    if known is not None:
        return known
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
        may = member.status in ADMIN_STATUSES
    except TelegramError as exc:
        log.info("could not check admin rights in %s: %s", chat_id, exc)
        may = False
    rights.put(chat_id, user_id, may, services.clock())
    return may


async def may_press(update: Update, context: Context, kind: str) -> bool:
    """Whether the presser may use a button of `kind` here (see `keyboards.Kind`);
    when not, the presser alone is told so, briefly, and nothing else happens."""
    chat = update.effective_chat
    query = update.callback_query
    if chat is None or query is None:
        return False
    in_channel = chat.type == ChatType.CHANNEL
    if keyboards.KINDS[kind].who == "reader" and not in_channel:
        return True
    if await may_configure(update, context):
        return True
    key = "reader.channel_admins_only" if in_channel else "reader.admins_only"
    await query.answer(t(await chosen_language(update, context), key))
    return False


def offered(update: Update, keyboard: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard as shown where the update came from: in a channel, without
    the buttons that only post (its readers could make the bot post there)."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.CHANNEL:
        return keyboards.without_posting(keyboard)
    return keyboard


async def reply(
    update: Update,
    context: Context,
    texts: str | Sequence[str],
    keyboard: InlineKeyboardMarkup | None = None,
    *,
    preview: bool = False,
) -> Message | None:
    """Send one or more HTML messages to where the update came from; the keyboard
    goes on the last one. Returns the last message sent."""
    chat = update.effective_chat
    if chat is None:
        return None
    parts = [texts] if isinstance(texts, str) else list(texts)
    thread = thread_of(update.effective_message)
    keyboard = offered(update, keyboard)
    sent: Message | None = None
    for index, text in enumerate(parts):
        last = index == len(parts) - 1
        sent = await context.bot.send_message(
            chat.id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard if last else None,
            link_preview_options=None if preview else NO_PREVIEW,
            message_thread_id=thread or None,
        )
    return sent


async def edit_or_reply(
    update: Update,
    context: Context,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace the message a button belongs to; send anew if it cannot be edited."""
    keyboard = offered(update, keyboard)
    query = update.callback_query
    if query is not None and query.message is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                link_preview_options=NO_PREVIEW,
            )
            return
        except TelegramError as exc:
            if "not modified" in str(exc).lower():
                return
            log.info("could not edit message, sending anew: %s", exc)
    await reply(update, context, text, keyboard)


async def refuse_non_admin(update: Update, context: Context, target: Target) -> bool:
    """Answer the polite refusal to a command and return True when the user may
    not configure. (Buttons are checked by `may_press`, before their handler.)"""
    if await may_configure(update, context):
        return False
    await reply(update, context, t(target.ui_language, "reader.admins_only"))
    return True
