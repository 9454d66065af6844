"""The content checks Telegram makes before it accepts a request.

Text lengths are counted after entity parsing and trimming, in UTF-16 code
units: 1-4096 for message text, up to 1024 for captions.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .errors import ApiError, bad_request, cant_parse_entities
from .html_mode import parse_html
from .markdown_mode import parse_markdown, parse_markdown_v2
from .text import (
    ENTITY_TYPES,
    Entity,
    EntityParseError,
    FormattedText,
    drop_nested_blockquotes,
    trim,
    utf16_len,
)

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100
MAX_INLINE_RESULTS = 50
MAX_RESULT_ID_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_COMMANDS = 100

BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
INLINE_RESULT_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_BUTTON_URL_SCHEMES = ("http://", "https://", "tg://")


_PARSERS = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str, mode: str) -> FormattedText:
    """Bots send one digest to many chats; parsing each distinct text once keeps it cheap."""
    return _PARSERS[mode](text)


def parse_text(text: str, parse_mode: str | None) -> FormattedText:
    """Apply a parse mode; raises "can't parse entities" exactly like Telegram."""
    if parse_mode is None:
        return FormattedText(text)
    mode = parse_mode.lower()
    if mode not in _PARSERS:
        raise bad_request(f'unsupported parse_mode "{parse_mode}"')
    try:
        return _parse_cached(text, mode)
    except EntityParseError as error:
        raise cant_parse_entities(str(error)) from None


def explicit_entities(text: str, value: Any) -> FormattedText:
    """`entities` given as JSON: validated, clipped to the text like Telegram does."""
    if not isinstance(value, list):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    kept: list[Entity] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("can't parse MessageEntity: MessageEntity must be an Object")
        kind, offset, length = item.get("type"), item.get("offset"), item.get("length")
        if not isinstance(kind, str) or kind not in ENTITY_TYPES:
            raise bad_request(f'can\'t parse MessageEntity: unsupported type "{kind}"')
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0:
            raise bad_request("can't parse MessageEntity: offset and length must be Integers")
        end = min(offset + length, size)
        if end <= offset:
            continue
        url = item.get("url")
        if kind == "text_link" and not isinstance(url, str):
            raise bad_request('can\'t parse MessageEntity: Field "url" must be of type String')
        kept.append(
            Entity(
                offset,
                end - offset,
                kind,
                url=url if kind == "text_link" else None,
                language=item.get("language") if kind == "pre" else None,
                custom_emoji_id=item.get("custom_emoji_id") if kind == "custom_emoji" else None,
            )
        )
    ordered = tuple(sorted(kept, key=lambda e: (e.offset, -e.length)))
    return FormattedText(text, drop_nested_blockquotes(ordered))


def message_text(text: str | None, parse_mode: str | None, entities: Any) -> FormattedText:
    """The text of a message as Telegram stores it: parsed, trimmed, 1-4096 long."""
    if text is None:
        raise bad_request("message text is empty")
    raw = (
        explicit_entities(text, entities) if entities is not None else parse_text(text, parse_mode)
    )
    formatted = trim(raw)
    if not formatted.text:
        raise bad_request("message text is empty")
    if utf16_len(formatted.text) > MAX_MESSAGE_LENGTH:
        raise bad_request("message is too long")
    return formatted


def caption_text(text: str | None, parse_mode: str | None, entities: Any) -> FormattedText:
    """A media caption: may be empty, at most 1024 long."""
    if text is None:
        return FormattedText("")
    raw = (
        explicit_entities(text, entities) if entities is not None else parse_text(text, parse_mode)
    )
    formatted = trim(raw)
    if utf16_len(formatted.text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return formatted


LINK_PREVIEW_FLAGS = (
    "is_disabled",
    "prefer_small_media",
    "prefer_large_media",
    "show_above_text",
)


def _preview_error(detail: str) -> ApiError:
    return bad_request(f"can't parse link preview options: {detail}")


def check_link_preview_options(value: Any) -> dict[str, Any] | None:
    """A LinkPreviewOptions object: only its five fields, each of its own type.

    Telegram ignores fields it does not know; the emulator refuses them, so a
    misspelt option (`prefer_large_image`) fails a test instead of silently
    previewing the wrong way. Asking for small and large media at once is
    refused for the same reason: Telegram would honour only one of them.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse link preview options JSON object")
    for name, field_value in value.items():
        if name == "url":
            if not isinstance(field_value, str):
                raise _preview_error('Field "url" must be of type String')
        elif name in LINK_PREVIEW_FLAGS:
            if not isinstance(field_value, bool):
                raise _preview_error(f'Field "{name}" must be of type Boolean')
        else:
            raise _preview_error(f'unknown field "{name}"')
    if value.get("prefer_small_media") and value.get("prefer_large_media"):
        raise _preview_error("prefer_small_media and prefer_large_media can't be both True")
    return dict(value)


def _button_error(detail: str) -> ApiError:
    return bad_request(f"can't parse inline keyboard button: {detail}")


def check_inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise _button_error('Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in BUTTON_ACTIONS if name in button]
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _button_error(f"exactly one of the fields {', '.join(actions)} must be used")
    data = button.get("callback_data")
    if "callback_data" in button and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if "url" in button and (not isinstance(url, str) or not url.startswith(_BUTTON_URL_SCHEMES)):
        raise bad_request("BUTTON_URL_INVALID")
    return button


def check_inline_keyboard(markup: dict[str, Any]) -> dict[str, Any]:
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    count = 0
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for button in row:
            check_inline_button(button)
            count += 1
    if count > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return {"inline_keyboard": rows}


def _check_reply_keyboard(markup: dict[str, Any]) -> None:
    rows = markup.get("keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text:
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )


def check_reply_markup(value: Any) -> dict[str, Any] | None:
    """Validate any kind of reply markup; only an inline keyboard stays on the message."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        return check_inline_keyboard(value)
    if "keyboard" in value:
        _check_reply_keyboard(value)
        return None
    if value.get("remove_keyboard") is True or value.get("force_reply") is True:
        return None
    raise bad_request("can't parse reply keyboard markup JSON object")


def _result_error(detail: str) -> ApiError:
    return bad_request(f"can't parse inline query result: {detail}")


def check_inline_results(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise bad_request("can't parse inline query results JSON object")
    if len(value) > MAX_INLINE_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in value:
        if not isinstance(result, dict):
            raise _result_error("InlineQueryResult must be an Object")
        kind = result.get("type")
        if kind not in INLINE_RESULT_TYPES:
            raise _result_error(f'unsupported inline query result type "{kind}"')
        result_id = result.get("id")
        if not isinstance(result_id, str) or not (
            1 <= len(result_id.encode("utf-8")) <= MAX_RESULT_ID_BYTES
        ):
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        if kind == "article":
            if not isinstance(result.get("title"), str) or not result["title"]:
                raise _result_error('Field "title" must be of type String')
            if not isinstance(result.get("input_message_content"), dict):
                raise _result_error('Field "input_message_content" must be of type Object')
        content = result.get("input_message_content")
        if content is not None:
            _check_message_content(content)
        if "caption" in result:
            caption_text(
                result.get("caption"), result.get("parse_mode"), result.get("caption_entities")
            )
        if "reply_markup" in result:
            markup = result["reply_markup"]
            if not isinstance(markup, dict) or "inline_keyboard" not in markup:
                raise _result_error('Field "reply_markup" must be an InlineKeyboardMarkup')
            check_inline_keyboard(markup)
    return value


def _check_message_content(content: Any) -> None:
    if not isinstance(content, dict):
        raise _result_error('Field "input_message_content" must be of type Object')
    if "message_text" in content:
        text = content["message_text"]
        if not isinstance(text, str):
            raise bad_request("message text is empty")
        message_text(text, content.get("parse_mode"), content.get("entities"))
        return
    known = ("latitude", "phone_number", "title", "description")
    if not any(key in content for key in known):
        raise _result_error("can't parse InputMessageContent")


def check_commands(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise bad_request("can't parse commands JSON object")
    if len(value) > MAX_COMMANDS:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    commands: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand: BotCommand must be an Object")
        command, description = item.get("command"), item.get("description")
        if not isinstance(command, str) or not _COMMAND.fullmatch(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not description.strip():
            raise bad_request("command description is empty")
        if len(description) > 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        commands.append({"command": command, "description": description})
    return commands


def check_scope(value: Any) -> dict[str, Any]:
    """A BotCommandScope object; chat ids are resolved by the caller."""
    if value is None:
        return {"type": "default"}
    if not isinstance(value, dict) or value.get("type") not in SCOPE_TYPES:
        raise bad_request("can't parse BotCommandScope")
    kind = value["type"]
    if kind in ("chat", "chat_administrators", "chat_member") and "chat_id" not in value:
        raise bad_request("chat_id is empty")
    if kind == "chat_member" and not isinstance(value.get("user_id"), int):
        raise bad_request("user_id is empty")
    return value


def check_language_code(value: str | None) -> str:
    if value is None:
        return ""
    if not _LANGUAGE.fullmatch(value):
        raise bad_request("invalid language code specified")
    return value


def check_chat_action(value: str) -> str:
    if value not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return value


def check_callback_answer_text(value: str | None) -> str | None:
    if value is not None and utf16_len(value) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    return value
