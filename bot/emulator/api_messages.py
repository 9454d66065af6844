"""Methods that send, change or remove messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import checks
from .core import Core
from .dispatch import Delivery, api_method
from .errors import NOT_MODIFIED, bad_request
from .files import image_size
from .models import ChatRecord, ChatType, FileRecord, MessageRecord
from .params import Params
from .text import FormattedText

MAX_PHOTO_BYTES = 10 * 1024 * 1024


def _markup(params: Params) -> dict[str, Any] | None:
    return checks.check_reply_markup(
        params.optional_json("reply_markup", error="can't parse reply keyboard markup JSON object")
    )


def _inline_markup(params: Params) -> dict[str, Any] | None:
    value = params.optional_json(
        "reply_markup", error="can't parse reply keyboard markup JSON object"
    )
    if value is not None and (not isinstance(value, dict) or "inline_keyboard" not in value):
        raise bad_request("inline keyboard expected")
    return checks.check_reply_markup(value)


def _caption(params: Params) -> FormattedText:
    return checks.caption_text(
        params.optional_string("caption"),
        params.optional_string("parse_mode"),
        params.optional_json("caption_entities"),
    )


def _link_preview(params: Params) -> dict[str, Any] | None:
    return checks.check_link_preview_options(
        params.optional_json(
            "link_preview_options", error="can't parse link preview options JSON object"
        )
    )


def _message_id(params: Params) -> int:
    return params.integer("message_id", missing="message identifier is not specified")


def _own_message(chat: ChatRecord, params: Params, missing: str) -> MessageRecord:
    message = chat.messages.get(_message_id(params))
    if message is None:
        raise bad_request(missing)
    return message


def _reject_inline_message(params: Params) -> None:
    if "inline_message_id" in params:
        raise bad_request("MESSAGE_ID_INVALID")


@api_method("sendMessage", sends=True, paid_broadcast=True)
async def send_message(core: Core, params: Params) -> Delivery:
    chat = core.chat_param(params)
    formatted = checks.message_text(
        params.optional_string("text"),
        params.optional_string("parse_mode"),
        params.optional_json("entities"),
    )
    preview = _link_preview(params)
    markup = _markup(params)
    thread_id = params.optional_integer("message_thread_id")
    reply_to = core.reply_target(chat, params)

    def commit() -> dict[str, Any]:
        message = core.post(
            chat,
            thread_id=thread_id,
            reply_to=reply_to,
            text=formatted.text,
            entities=formatted.entities,
            reply_markup=markup,
            link_preview_options=preview,
        )
        return message.to_api()

    return Delivery(chat, commit, thread_id)


async def _send_file(core: Core, params: Params, field: str, kind: str) -> Delivery:
    chat = core.chat_param(params)
    caption = _caption(params)
    above = params.flag("show_caption_above_media")
    markup = _markup(params)
    thread_id = params.optional_integer("message_thread_id")
    reply_to = core.reply_target(chat, params)
    stored_file = _input_file(core, params, field, kind)

    def commit() -> dict[str, Any]:
        message = core.post(
            chat,
            thread_id=thread_id,
            reply_to=reply_to,
            caption=caption.text or None,
            caption_entities=caption.entities,
            show_caption_above_media=above,
            reply_markup=markup,
            **{"photo" if kind == "photos" else "document": stored_file()},
        )
        return message.to_api()

    return Delivery(chat, commit, thread_id)


def _input_file(core: Core, params: Params, field: str, kind: str) -> Callable[[], FileRecord]:
    """An uploaded part, an `attach://` reference, a known file_id or a URL.

    New files are only stored on commit, so a refused upload leaves no trace.
    A URL is judged by `core.photo_urls` (nothing is fetched); a file_id must
    name a file of the same kind, as Telegram answers "type of file mismatch".
    """
    upload = params.uploads.get(field)
    value = params.optional_string(field)
    if upload is None and value is not None and value.startswith("attach://"):
        upload = params.uploads.get(value.removeprefix("attach://"))
    if upload is not None:
        if not upload.data:
            raise bad_request("file must be non-empty")
        if kind == "photos":
            _check_photo(upload.data)
        data, name, mime_type = upload.data, upload.file_name, upload.mime_type
        return lambda: core.files.add(data, kind=kind, file_name=name, mime_type=mime_type)
    if value is None:
        raise bad_request(f"there is no {field} in the request")
    if value.lower().startswith(("http://", "https://")):
        refusal = core.photo_urls.check(value)
        if refusal is not None:
            if refusal.fault is not None:
                core.faults.counts[refusal.fault] += 1
            raise refusal
        url, url_name = value, value.split("?", 1)[0].rsplit("/", 1)[-1] or None
        return lambda: core.files.add(b"", kind=kind, file_name=url_name, source_url=url)
    known = core.files.get(value)
    if known is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if known.kind != kind:
        raise bad_request("type of file mismatch")
    return lambda: known


def _check_photo(data: bytes) -> None:
    """Telegram's documented bounds for an uploaded photo: at most 10 MB, width and
    height at most 10,000 together, neither side more than 20 times the other."""
    if len(data) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    width, height = image_size(data)
    if width + height > 10_000 or max(width, height) > 20 * max(1, min(width, height)):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")


@api_method("sendPhoto", sends=True, paid_broadcast=True)
async def send_photo(core: Core, params: Params) -> Delivery:
    return await _send_file(core, params, "photo", "photos")


@api_method("sendDocument", sends=True, paid_broadcast=True)
async def send_document(core: Core, params: Params) -> Delivery:
    return await _send_file(core, params, "document", "documents")


@api_method("editMessageText")
async def edit_message_text(core: Core, params: Params) -> Delivery:
    _reject_inline_message(params)
    chat = core.chat_param(params)
    message = _own_message(chat, params, "message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    formatted = checks.message_text(
        params.optional_string("text"),
        params.optional_string("parse_mode"),
        params.optional_json("entities"),
    )
    preview = _link_preview(params)
    markup = _inline_markup(params)
    unchanged = (
        formatted.text == message.text
        and formatted.entities == message.entities
        and markup == message.reply_markup
        and preview == message.link_preview_options
    )
    if unchanged:
        raise bad_request(NOT_MODIFIED)

    def commit() -> dict[str, Any]:
        message.text = formatted.text
        message.entities = formatted.entities
        message.link_preview_options = preview
        message.reply_markup = markup
        message.edit_date = core.now()
        core.publish("edited", chat.id, message)
        return message.to_api()

    return Delivery(chat, commit)


@api_method("editMessageCaption")
async def edit_message_caption(core: Core, params: Params) -> Delivery:
    _reject_inline_message(params)
    chat = core.chat_param(params)
    message = _own_message(chat, params, "message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    if message.photo is None and message.document is None:
        raise bad_request("there is no caption in the message to edit")
    caption = _caption(params)
    markup = _inline_markup(params)
    unchanged = (
        (caption.text or None) == message.caption
        and caption.entities == message.caption_entities
        and markup == message.reply_markup
    )
    if unchanged:
        raise bad_request(NOT_MODIFIED)

    def commit() -> dict[str, Any]:
        message.caption = caption.text or None
        message.caption_entities = caption.entities
        message.reply_markup = markup
        message.edit_date = core.now()
        core.publish("edited", chat.id, message)
        return message.to_api()

    return Delivery(chat, commit)


@api_method("editMessageReplyMarkup")
async def edit_message_reply_markup(core: Core, params: Params) -> Delivery:
    _reject_inline_message(params)
    chat = core.chat_param(params)
    message = _own_message(chat, params, "message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    markup = _inline_markup(params)
    if markup == message.reply_markup:
        raise bad_request(NOT_MODIFIED)

    def commit() -> dict[str, Any]:
        message.reply_markup = markup
        message.edit_date = core.now()
        core.publish("edited", chat.id, message)
        return message.to_api()

    return Delivery(chat, commit)


@api_method("deleteMessage")
async def delete_message(core: Core, params: Params) -> Delivery:
    chat = core.chat_param(params)
    message = _own_message(chat, params, "message to delete not found")
    allowed = message.from_bot or chat.type is ChatType.PRIVATE or core.world.bot_is_admin(chat)
    if not allowed:
        raise bad_request("message can't be deleted")

    def commit() -> bool:
        chat.messages.pop(message.message_id, None)
        core.publish("deleted", chat.id, message)
        return True

    return Delivery(chat, commit)


def _source_message(core: Core, params: Params, verb: str) -> MessageRecord:
    source_chat = core.chat_param(params, "from_chat_id")
    message = source_chat.messages.get(_message_id(params))
    if message is None:
        raise bad_request(f"message to {verb} not found")
    if message.service:
        raise bad_request(
            "message can't be forwarded" if verb == "forward" else "message can't be copied"
        )
    return message


@api_method("copyMessage", sends=True, paid_broadcast=True)
async def copy_message(core: Core, params: Params) -> Delivery:
    chat = core.chat_param(params)
    source = _source_message(core, params, "copy")
    caption = _caption(params) if "caption" in params else None
    markup = _markup(params) if "reply_markup" in params else source.reply_markup
    thread_id = params.optional_integer("message_thread_id")
    reply_to = core.reply_target(chat, params)

    def commit() -> dict[str, Any]:
        message = core.post(
            chat,
            thread_id=thread_id,
            reply_to=reply_to,
            text=source.text,
            entities=source.entities,
            caption=caption.text or None if caption else source.caption,
            caption_entities=caption.entities if caption else source.caption_entities,
            document=source.document,
            photo=source.photo,
            reply_markup=markup,
        )
        return {"message_id": message.message_id}

    return Delivery(chat, commit, thread_id)


@api_method("forwardMessage", sends=True)
async def forward_message(core: Core, params: Params) -> Delivery:
    chat = core.chat_param(params)
    source = _source_message(core, params, "forward")
    thread_id = params.optional_integer("message_thread_id")
    origin: dict[str, Any]
    if source.chat.type is ChatType.CHANNEL:
        origin = {
            "type": "channel",
            "date": source.date,
            "chat": source.chat.to_api(),
            "message_id": source.message_id,
        }
    else:
        sender = source.sender or core.bot
        origin = {"type": "user", "date": source.date, "sender_user": sender.to_api()}

    def commit() -> dict[str, Any]:
        message = core.post(
            chat,
            thread_id=thread_id,
            text=source.text,
            entities=source.entities,
            caption=source.caption,
            caption_entities=source.caption_entities,
            document=source.document,
            photo=source.photo,
            forward_origin=origin,
        )
        return message.to_api()

    return Delivery(chat, commit, thread_id)


@api_method("sendChatAction")
async def send_chat_action(core: Core, params: Params) -> Delivery:
    chat = core.chat_param(params)
    action = checks.check_chat_action(params.string("action"))
    thread_id = params.optional_integer("message_thread_id")

    def commit() -> bool:
        core.publish("chat_action", chat.id, action=action)
        return True

    return Delivery(chat, commit, thread_id)
