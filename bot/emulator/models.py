"""Users, chats, topics, messages and files as the emulator remembers them.

Each record renders itself in the exact JSON shape of the Bot API (`to_api`),
so handlers and updates never assemble dictionaries by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .text import Entity

JSON = dict[str, Any]


class ChatType(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


class EmulatorError(ValueError):
    """The Python or control API was asked for something Telegram could not do."""


@dataclass(slots=True)
class UserRecord:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    started: bool = True
    """Whether the user has opened the private chat; the bot cannot write first."""
    deactivated: bool = False

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass(slots=True)
class FileRecord:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    source_url: str | None = None
    """The HTTP(S) URL a photo was sent by: what Telegram would have fetched."""
    kind: str = "documents"
    """photos or documents: a file_id is only good for a file of its own kind."""

    @property
    def size(self) -> int:
        return len(self.data)

    def file_api(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }

    def document_api(self) -> JSON:
        data: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data

    def photo_api(self) -> list[JSON]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.size,
                "width": self.width,
                "height": self.height,
            }
        ]


@dataclass(slots=True)
class TopicRecord:
    thread_id: int
    name: str
    icon_color: int = 0x6FB9F0


@dataclass(eq=False, slots=True)
class ChatRecord:
    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    user: UserRecord | None = None
    """The other side of a private chat."""
    is_forum: bool = False
    owner_id: int | None = None
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    bot_status: str = "member"
    """The bot's ChatMember status: member, administrator, left, kicked."""
    topics: dict[int, TopicRecord] = field(default_factory=dict)
    messages: dict[int, MessageRecord] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    migrated_from: int | None = None

    @property
    def is_group(self) -> bool:
        """Groups, supergroups and channels share the per-minute flood limit."""
        return self.type is not ChatType.PRIVATE

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "type": self.type.value}
        if self.type is ChatType.PRIVATE and self.user is not None:
            data["first_name"] = self.user.first_name
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        data["title"] = self.title or ""
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data

    def full_info(self) -> JSON:
        """The ChatFullInfo answer of getChat."""
        data = self.to_api()
        data.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        if self.migrated_from is not None:
            data["migrated_from_chat_id"] = self.migrated_from
        return data


@dataclass(eq=False, slots=True)
class MessageRecord:
    chat: ChatRecord
    message_id: int
    seq: int
    """Global arrival order across all chats."""
    date: int
    from_bot: bool
    sender: UserRecord | None
    """None for posts signed by a channel."""
    text: str | None = None
    entities: tuple[Entity, ...] = ()
    caption: str | None = None
    caption_entities: tuple[Entity, ...] = ()
    reply_markup: JSON | None = None
    thread_id: int | None = None
    is_topic_message: bool = False
    reply_to: MessageRecord | None = None
    document: FileRecord | None = None
    photo: FileRecord | None = None
    edit_date: int | None = None
    forward_origin: JSON | None = None
    show_caption_above_media: bool = False
    link_preview_options: JSON | None = None
    """As the bot sent them (validated): which URL a text message previews, and how."""
    service: JSON = field(default_factory=dict)
    """Service fields such as migrate_to_chat_id or forum_topic_created."""

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def buttons(self) -> list[JSON]:
        """The inline keyboard's buttons, row by row."""
        if not self.reply_markup:
            return []
        rows: list[list[JSON]] = self.reply_markup.get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    def to_api(self, *, with_reply: bool = True) -> JSON:
        chat = self.chat.to_api()
        data: JSON = {"message_id": self.message_id, "date": self.date, "chat": chat}
        if self.sender is not None:
            data["from"] = self.sender.to_api()
        elif self.chat.type is ChatType.CHANNEL:
            data["sender_chat"] = chat
        if self.thread_id is not None:
            data["message_thread_id"] = self.thread_id
            if self.is_topic_message:
                data["is_topic_message"] = True
        if self.reply_to is not None and with_reply:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.forward_origin is not None:
            data["forward_origin"] = self.forward_origin
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = [entity.to_api() for entity in self.entities]
            if self.link_preview_options is not None:
                data["link_preview_options"] = self.link_preview_options
        if self.document is not None:
            data["document"] = self.document.document_api()
        if self.photo is not None:
            data["photo"] = self.photo.photo_api()
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = [entity.to_api() for entity in self.caption_entities]
            if self.show_caption_above_media:
                data["show_caption_above_media"] = True
        if self.reply_markup is not None:
            data["reply_markup"] = self.reply_markup
        if self.service:
            data.update(self.service)
        return data


@dataclass(slots=True)
class CallbackQueryRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None


@dataclass(slots=True)
class InlineQueryRecord:
    id: str
    user_id: int
    query: str
    offset: str
    answered: bool = False
    results: list[JSON] = field(default_factory=list)
    next_offset: str | None = None
    cache_time: int | None = None
    is_personal: bool = False
    button: JSON | None = None


ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_post_messages": True,
    "can_edit_messages": True,
    "can_pin_messages": True,
    "can_manage_topics": True,
}


def chat_member_api(user: UserRecord, status: str) -> JSON:
    """A ChatMember object of the given status, with every field PTB requires."""
    data: JSON = {"user": user.to_api(), "status": status}
    if status == "administrator":
        data.update(ADMIN_RIGHTS)
    elif status == "creator":
        data["is_anonymous"] = False
    elif status == "kicked":
        data["until_date"] = 0
    return data
