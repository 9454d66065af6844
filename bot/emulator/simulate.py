"""The other side of the conversation: people (and Telegram) acting on the bot.

Each action changes the world and queues the update Telegram would send. In
groups the bot runs in privacy mode unless told otherwise: it only sees
commands, replies to its own messages, mentions of it and service messages,
unless it is an administrator. Misuse (pressing a button that does not exist,
writing into an unknown topic) raises `EmulatorError` instead of producing an
update Telegram never could.
"""

from __future__ import annotations

import re
from typing import Any

from .core import Core
from .models import (
    CallbackQueryRecord,
    ChatRecord,
    ChatType,
    EmulatorError,
    InlineQueryRecord,
    MessageRecord,
    UserRecord,
    chat_member_api,
)
from .text import Entity, utf16_len

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_BOT_STATUSES = frozenset({"member", "administrator", "left", "kicked"})
_PRESENT = frozenset({"member", "administrator", "creator"})

Update = dict[str, Any]


def command_entities(text: str) -> tuple[Entity, ...]:
    """A leading `/command` or `/command@botname` is a bot_command entity."""
    match = _COMMAND.match(text)
    if match is None:
        return ()
    return (Entity(0, utf16_len(match.group()), "bot_command"),)


def _bot_sees(core: Core, message: MessageRecord) -> bool:
    chat = message.chat
    if chat.type is ChatType.PRIVATE:
        return chat.bot_status != "kicked"
    if chat.bot_status not in _PRESENT:
        return False
    if message.service or not core.privacy_mode or core.world.bot_is_admin(chat):
        return True
    text = (message.text or message.caption or "").lower()
    name = f"@{(core.bot.username or '').lower()}"
    command = _COMMAND.match(text)
    if command is not None:
        target = command.group().partition("@")[2]
        return not target or f"@{target}" == name
    if message.reply_to is not None and message.reply_to.from_bot:
        return True
    return name in text


def _deliver(core: Core, kind: str, message: MessageRecord) -> Update | None:
    if not _bot_sees(core, message):
        return None
    return core.updates.push(kind, message.to_api())


def _sender_in(core: Core, chat: ChatRecord, user_id: int) -> UserRecord:
    user = core.world.user(user_id)
    if chat.type is ChatType.PRIVATE:
        if user_id != chat.id:
            raise EmulatorError(f"user {user_id} cannot write in the private chat {chat.id}")
        if chat.bot_status == "kicked":
            raise EmulatorError(
                f"user {user_id} blocked the bot; unblock with "
                f"bot_membership_changed({chat.id}, {user_id}, 'member')"
            )
        user.started = True
    elif chat.type is ChatType.CHANNEL:
        raise EmulatorError("users do not write in channels; use channel_post")
    else:
        chat.members.add(user_id)
    return user


def _thread_for(
    chat: ChatRecord, thread_id: int | None, reply_to: MessageRecord | None
) -> int | None:
    if thread_id is None and reply_to is not None and chat.is_forum:
        return reply_to.thread_id
    if thread_id is not None and chat.is_forum and thread_id not in chat.topics:
        raise EmulatorError(f"chat {chat.id} has no topic {thread_id}")
    return thread_id


def _reply_target(chat: ChatRecord, reply_to: int | None) -> MessageRecord | None:
    if reply_to is None:
        return None
    target = chat.messages.get(reply_to)
    if target is None:
        raise EmulatorError(f"chat {chat.id} has no message {reply_to}")
    return target


def user_message(
    core: Core,
    chat_id: int,
    user_id: int,
    text: str,
    *,
    thread_id: int | None = None,
    reply_to: int | None = None,
) -> Update | None:
    """A user writes `text`; returns the update, or None when the bot cannot see it."""
    chat = core.world.chat(chat_id)
    user = _sender_in(core, chat, user_id)
    target = _reply_target(chat, reply_to)
    thread = _thread_for(chat, thread_id, target)
    message = core.world.new_message(
        chat,
        from_bot=False,
        sender=user,
        text=text,
        entities=command_entities(text),
        thread_id=thread,
        is_topic_message=chat.is_forum and thread is not None,
        reply_to=target,
    )
    return _deliver(core, "message", message)


def user_document(
    core: Core,
    chat_id: int,
    user_id: int,
    content: bytes,
    file_name: str,
    *,
    mime_type: str = "application/octet-stream",
    caption: str | None = None,
    thread_id: int | None = None,
) -> Update | None:
    """A user sends a file; the bot can fetch it with getFile and download it."""
    chat = core.world.chat(chat_id)
    user = _sender_in(core, chat, user_id)
    thread = _thread_for(chat, thread_id, None)
    file = core.files.add(content, kind="documents", file_name=file_name, mime_type=mime_type)
    message = core.world.new_message(
        chat,
        from_bot=False,
        sender=user,
        document=file,
        caption=caption,
        caption_entities=command_entities(caption or ""),
        thread_id=thread,
        is_topic_message=chat.is_forum and thread is not None,
    )
    return _deliver(core, "message", message)


def _pick_button(
    message: MessageRecord,
    callback_data: str | None,
    index: int | tuple[int, int] | None,
    text: str | None,
) -> dict[str, Any]:
    buttons = message.buttons
    try:
        if isinstance(index, tuple):
            assert message.reply_markup is not None
            row, column = index
            button: dict[str, Any] = message.reply_markup["inline_keyboard"][row][column]
        elif index is not None:
            button = buttons[index]
        elif text is not None:
            button = next(b for b in buttons if b.get("text") == text)
        elif callback_data is not None:
            button = next(b for b in buttons if b.get("callback_data") == callback_data)
        else:
            raise EmulatorError("say which button: callback_data, index or text")
    except (IndexError, StopIteration, AssertionError):
        raise EmulatorError(
            f"message {message.message_id} has no such button; it has {buttons!r}"
        ) from None
    if "callback_data" not in button:
        raise EmulatorError(f"button {button!r} sends no callback query")
    return button


def _default_user(chat: ChatRecord) -> int:
    if chat.type is ChatType.PRIVATE:
        return chat.id
    people = sorted(chat.members) or sorted(chat.admins)
    if not people:
        raise EmulatorError(f"chat {chat.id} has nobody to act; pass user_id")
    return people[0]


def press_button(
    core: Core,
    chat_id: int,
    message_id: int,
    callback_data: str | None = None,
    *,
    index: int | tuple[int, int] | None = None,
    text: str | None = None,
    user_id: int | None = None,
    forged_data: str | None = None,
) -> str:
    """A user presses an inline button; returns the callback query id.

    `forged_data` is what a modified client can do: send any data with a press
    on one of the bot's messages, whatever its buttons say."""
    chat = core.world.chat(chat_id)
    message = chat.messages.get(message_id)
    if message is None:
        raise EmulatorError(f"chat {chat_id} has no message {message_id}")
    user = core.world.user(user_id if user_id is not None else _default_user(chat))
    query_id = core.new_query_id()
    if forged_data is not None:
        data = forged_data
    else:
        data = _pick_button(message, callback_data, index, text)["callback_data"]
    core.callback_queries[query_id] = CallbackQueryRecord(
        query_id, user.id, chat.id, message_id, data
    )
    core.updates.push(
        "callback_query",
        {
            "id": query_id,
            "from": user.to_api(),
            "message": message.to_api(),
            "chat_instance": str(abs(chat.id) * 7919 % 10**18),
            "data": data,
        },
    )
    return query_id


def inline_query(
    core: Core, user_id: int, query: str, *, offset: str = "", chat_type: str | None = "sender"
) -> str:
    """A user types `@bot query`; returns the inline query id."""
    user = core.world.user(user_id)
    query_id = core.new_query_id()
    core.inline_queries[query_id] = InlineQueryRecord(query_id, user.id, query, offset)
    payload: dict[str, Any] = {
        "id": query_id,
        "from": user.to_api(),
        "query": query,
        "offset": offset,
    }
    if chat_type is not None:
        payload["chat_type"] = chat_type
    core.updates.push("inline_query", payload)
    return query_id


def channel_post(core: Core, chat_id: int, text: str) -> Update | None:
    """An administrator posts in a channel; the bot sees it when it is an admin there."""
    chat = core.world.chat(chat_id)
    if chat.type is not ChatType.CHANNEL:
        raise EmulatorError(f"chat {chat_id} is not a channel")
    message = core.world.new_message(
        chat, from_bot=False, sender=None, text=text, entities=command_entities(text)
    )
    if chat.bot_status not in _PRESENT:
        return None
    return core.updates.push("channel_post", message.to_api())


def bot_membership_changed(
    core: Core, chat_id: int, by_user_id: int, new_status: str
) -> Update | None:
    """Someone adds, promotes, removes or blocks the bot: a my_chat_member update."""
    if new_status not in _BOT_STATUSES:
        raise EmulatorError(f"status must be one of {sorted(_BOT_STATUSES)}")
    chat = core.world.chat(chat_id)
    actor = core.world.user(by_user_id)
    if chat.type is ChatType.PRIVATE and new_status not in ("member", "kicked"):
        raise EmulatorError("in a private chat the bot is either 'member' or 'kicked'")
    old_status, chat.bot_status = chat.bot_status, new_status
    return core.updates.push(
        "my_chat_member",
        {
            "chat": chat.to_api(),
            "from": actor.to_api(),
            "date": core.now(),
            "old_chat_member": chat_member_api(core.bot, old_status),
            "new_chat_member": chat_member_api(core.bot, new_status),
        },
    )


def _actor(core: Core, chat: ChatRecord, user_id: int | None) -> UserRecord | None:
    """Who performs an administrative action; None (anonymous) in an empty chat."""
    if user_id is not None:
        return core.world.user(user_id)
    if chat.owner_id is not None:
        return core.world.user(chat.owner_id)
    people = sorted(chat.admins) or sorted(chat.members)
    return core.world.user(people[0]) if people else None


def migrate_group(core: Core, chat_id: int, *, by_user_id: int | None = None) -> ChatRecord:
    """Upgrade a basic group to a supergroup, with both service messages."""
    group = core.world.chat(chat_id)
    actor = _actor(core, group, by_user_id)
    supergroup = core.world.migrate(group)
    farewell = core.world.new_message(
        group, from_bot=False, sender=actor, service={"migrate_to_chat_id": supergroup.id}
    )
    welcome = core.world.new_message(
        supergroup, from_bot=False, sender=actor, service={"migrate_from_chat_id": group.id}
    )
    _deliver(core, "message", farewell)
    _deliver(core, "message", welcome)
    return supergroup


def create_topic(core: Core, chat_id: int, name: str, *, by_user_id: int | None = None) -> int:
    """Open a forum topic; returns its message_thread_id."""
    chat = core.world.chat(chat_id)
    message = core.world.add_topic(chat, name, _actor(core, chat, by_user_id))
    _deliver(core, "message", message)
    assert message.thread_id is not None
    return message.thread_id
