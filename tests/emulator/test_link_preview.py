"""link_preview_options: only the Bot API's fields, kept on the message for tests to read."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import telegram
from telegram import LinkPreviewOptions

from bot.emulator import Emulator

LEAD = "https://example.org/articles/lead"
TEXT = (
    f'<a href="{LEAD}">Lead story</a>\n'
    '<a href="https://example.org/articles/two">Second</a>\n'
    '<a href="https://example.org/articles/three">Third</a>'
)


async def test_options_are_kept_on_the_message(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    options = LinkPreviewOptions(url=LEAD, prefer_large_media=True, show_above_text=True)
    sent = await bot.send_message(user.id, TEXT, parse_mode="HTML", link_preview_options=options)
    assert sent.link_preview_options == options
    stored = emulator.bot_messages(user.id)[0]
    assert stored.link_preview_options == {
        "url": LEAD,
        "prefer_large_media": True,
        "show_above_text": True,
    }

    off = LinkPreviewOptions(is_disabled=True)
    edited = await bot.edit_message_text(
        TEXT, user.id, sent.message_id, parse_mode="HTML", link_preview_options=off
    )
    assert isinstance(edited, telegram.Message)
    assert emulator.bot_messages(user.id)[0].link_preview_options == {"is_disabled": True}

    plain = await bot.send_message(user.id, "no options")
    assert plain.link_preview_options is None
    assert emulator.protocol_errors == []


@pytest.mark.parametrize(
    ("options", "description"),
    [
        (
            {"url": LEAD, "prefer_large_image": True},
            'can\'t parse link preview options: unknown field "prefer_large_image"',
        ),
        (
            {"is_disabled": "yes"},
            'can\'t parse link preview options: Field "is_disabled" must be of type Boolean',
        ),
        (
            {"url": 7},
            'can\'t parse link preview options: Field "url" must be of type String',
        ),
        (
            {"prefer_small_media": True, "prefer_large_media": True},
            "can't parse link preview options: "
            "prefer_small_media and prefer_large_media can't be both True",
        ),
        (["url", LEAD], "can't parse link preview options JSON object"),
        ("{not json", "can't parse link preview options JSON object"),
    ],
)
async def test_malformed_options_are_refused(
    emulator: Emulator, options: Any, description: str
) -> None:
    user = emulator.add_user()
    encoded = options if isinstance(options, str) else json.dumps(options)
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{emulator.base_url}{emulator.token}/sendMessage",
            data={"chat_id": user.id, "text": "x", "link_preview_options": encoded},
        )
    assert answer.status_code == 400
    assert answer.json()["description"] == f"Bad Request: {description}"
    assert emulator.bot_messages(user.id) == []
    assert len(emulator.take_protocol_errors()) == 1
