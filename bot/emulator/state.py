"""The world the bot lives in: users, chats, topics and every message.

`World` hands out ids the way Telegram shapes them (users positive, basic
groups negative, supergroups and channels -100...), stores messages per chat
so every lookup is a dict access, and knows when the bot may write to a chat.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from .errors import ApiError, ErrorKind, bad_request, forbidden, migrated
from .faults import kicked_text
from .models import (
    ChatRecord,
    ChatType,
    EmulatorError,
    MessageRecord,
    TopicRecord,
    UserRecord,
)

FIRST_USER_ID = 100_000_001
FIRST_GROUP_ID = 4_000_000_001
FIRST_SUPERGROUP_ID = 1_000_000_001


class World:
    def __init__(self, bot: UserRecord, history_limit: int | None = None) -> None:
        self.bot = bot
        self.history_limit = history_limit
        """Messages kept per chat; long benchmarks bound memory with it."""
        self.users: dict[int, UserRecord] = {bot.id: bot}
        self.chats: dict[int, ChatRecord] = {}
        self._usernames: dict[str, int] = {}
        self._user_ids = itertools.count(FIRST_USER_ID)
        self._group_ids = itertools.count(FIRST_GROUP_ID)
        self._supergroup_ids = itertools.count(FIRST_SUPERGROUP_ID)
        self._seq = itertools.count(1)
        if bot.username:
            self._usernames[bot.username.lower()] = bot.id

    # -- lookups -----------------------------------------------------------------

    def resolve(self, ref: int | str) -> ChatRecord | None:
        """A chat by id, or a public group or channel by @username (never a user's)."""
        if isinstance(ref, str):
            chat_id = self._usernames.get(ref.removeprefix("@").lower())
            chat = None if chat_id is None else self.chats.get(chat_id)
            return None if chat is None or chat.type is ChatType.PRIVATE else chat
        return self.chats.get(ref)

    def chat(self, chat_id: int) -> ChatRecord:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise EmulatorError(f"no chat {chat_id}")
        return chat

    def user(self, user_id: int) -> UserRecord:
        user = self.users.get(user_id)
        if user is None:
            raise EmulatorError(f"no user {user_id}")
        return user

    def _claim_username(self, username: str | None, owner_id: int) -> None:
        if not username:
            return
        key = username.removeprefix("@").lower()
        if key in self._usernames:
            raise EmulatorError(f"username @{username} is taken")
        self._usernames[key] = owner_id

    # -- creation ----------------------------------------------------------------

    def add_user(
        self,
        first_name: str = "Test",
        *,
        user_id: int | None = None,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        started: bool = True,
    ) -> UserRecord:
        """A user together with their private chat with the bot."""
        user_id = next(self._user_ids) if user_id is None else user_id
        if user_id in self.users or user_id in self.chats:
            raise EmulatorError(f"user {user_id} exists")
        self._claim_username(username, user_id)
        user = UserRecord(
            id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            started=started,
        )
        self.users[user_id] = user
        self.chats[user_id] = ChatRecord(id=user_id, type=ChatType.PRIVATE, user=user)
        return user

    def add_chat(
        self,
        chat_type: ChatType,
        title: str,
        *,
        chat_id: int | None = None,
        username: str | None = None,
        is_forum: bool = False,
        owner_id: int | None = None,
        members: tuple[int, ...] | list[int] = (),
        admins: tuple[int, ...] | list[int] = (),
        bot_status: str = "member",
    ) -> ChatRecord:
        if chat_type is ChatType.PRIVATE:
            raise EmulatorError("private chats come with add_user")
        if chat_id is None:
            if chat_type is ChatType.GROUP:
                chat_id = -next(self._group_ids)
            else:
                chat_id = -(10**12 + next(self._supergroup_ids))
        if chat_id in self.chats:
            raise EmulatorError(f"chat {chat_id} exists")
        for user_id in (*members, *admins, *([owner_id] if owner_id else [])):
            self.user(user_id)
        if is_forum and chat_type is not ChatType.SUPERGROUP:
            raise EmulatorError("only supergroups can be forums")
        self._claim_username(username, chat_id)
        chat = ChatRecord(
            id=chat_id,
            type=chat_type,
            title=title,
            username=username,
            is_forum=is_forum,
            owner_id=owner_id,
            members={*members, *admins, *([owner_id] if owner_id else [])},
            admins=set(admins),
            bot_status=bot_status,
        )
        self.chats[chat_id] = chat
        return chat

    def new_message(
        self,
        chat: ChatRecord,
        *,
        from_bot: bool,
        sender: UserRecord | None,
        **fields: Any,
    ) -> MessageRecord:
        message = MessageRecord(
            chat=chat,
            message_id=chat.take_message_id(),
            seq=next(self._seq),
            date=int(time.time()),
            from_bot=from_bot,
            sender=sender,
            **fields,
        )
        messages = chat.messages
        messages[message.message_id] = message
        if self.history_limit is not None and len(messages) > self.history_limit:
            del messages[next(iter(messages))]
        return message

    def add_topic(self, chat: ChatRecord, name: str, creator: UserRecord | None) -> MessageRecord:
        """A forum topic; its thread id is the id of its creation message, as in Telegram."""
        if not chat.is_forum:
            raise EmulatorError(f"chat {chat.id} is not a forum")
        message = self.new_message(chat, from_bot=False, sender=creator)
        topic = TopicRecord(message.message_id, name)
        message.thread_id = topic.thread_id
        message.is_topic_message = True
        message.service = {
            "forum_topic_created": {"name": topic.name, "icon_color": topic.icon_color}
        }
        chat.topics[topic.thread_id] = topic
        return message

    def migrate(self, chat: ChatRecord) -> ChatRecord:
        """Upgrade a basic group: a new supergroup takes over its people and the bot."""
        if chat.type is not ChatType.GROUP:
            raise EmulatorError(f"chat {chat.id} is not a basic group")
        if chat.migrated_to is not None:
            return self.chat(chat.migrated_to)
        supergroup = self.add_chat(
            ChatType.SUPERGROUP,
            chat.title or "",
            owner_id=chat.owner_id,
            members=sorted(chat.members),
            admins=sorted(chat.admins),
            bot_status=chat.bot_status,
        )
        supergroup.migrated_from = chat.id
        chat.migrated_to = supergroup.id
        return supergroup

    # -- rules -------------------------------------------------------------------

    def member_status(self, chat: ChatRecord, user_id: int) -> str:
        if user_id == self.bot.id:
            return chat.bot_status
        if chat.type is ChatType.PRIVATE:
            return "member" if user_id == chat.id else "left"
        if user_id == chat.owner_id:
            return "creator"
        if user_id in chat.admins:
            return "administrator"
        return "member" if user_id in chat.members else "left"

    def bot_is_admin(self, chat: ChatRecord) -> bool:
        return chat.bot_status in ("administrator", "creator")

    def write_refusal(self, chat: ChatRecord) -> ApiError | None:
        """Why the bot may not post in `chat` right now, if it may not."""
        if chat.type is ChatType.PRIVATE:
            user = chat.user
            assert user is not None
            if user.is_bot:
                return forbidden("bot can't send messages to bots")
            if user.deactivated:
                return forbidden("user is deactivated")
            if chat.bot_status == "kicked":
                return forbidden("bot was blocked by the user")
            if not user.started:
                return forbidden("bot can't initiate conversation with a user")
            return None
        if chat.migrated_to is not None:
            return migrated(chat.migrated_to)
        if chat.bot_status == "kicked":
            return forbidden(kicked_text(chat.type.value))
        if chat.bot_status == "left":
            return forbidden(f"bot is not a member of the {chat.type.value} chat")
        if chat.type is ChatType.CHANNEL and not self.bot_is_admin(chat):
            return bad_request(
                "need administrator rights in the channel chat", kind=ErrorKind.STATE
            )
        return None

    def thread_refusal(self, chat: ChatRecord, thread_id: int | None) -> ApiError | None:
        if thread_id is None:
            return None
        if chat.is_forum:
            known = thread_id in chat.topics
        else:
            known = chat.type is ChatType.SUPERGROUP and thread_id in chat.messages
        return None if known else bad_request("message thread not found")
