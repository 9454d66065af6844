"""Photos sent by URL, file_id or upload: captions checked like text, URLs Telegram can't fetch."""

from __future__ import annotations

import io
import struct

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageEntity
from telegram.error import BadRequest, RetryAfter

from bot.emulator import EmulatorClient, ErrorKind, FloodLimits, PhotoRefusal
from bot.emulator.emulator import Emulator

LEAD = "https://cdn.example.org/2024/05/lead.jpg?w=1200"
UNREACHABLE = "Bad Request: failed to get HTTP URL content"
WRONG_URL = "Bad Request: wrong file identifier/HTTP URL specified"


def png(width: int, height: int) -> bytes:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    return header + struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00" + b"\x00" * 16


def last_answer(emulator: Emulator) -> tuple[str | None, ErrorKind | None, str | None]:
    call = emulator.calls("sendPhoto")[-1]
    return call.description, call.kind, call.fault


async def test_photo_by_url_with_html_caption_and_keyboard(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    user = emulator.add_user()
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("📖 Read", callback_data="read:7")]])
    sent = await bot.send_photo(
        user.id,
        LEAD,
        caption='<b>Title</b>\n<blockquote expandable>Summary</blockquote>\n<a href="https://example.org/a">Link</a>',
        parse_mode="HTML",
        reply_markup=markup,
        show_caption_above_media=True,
    )
    assert sent.caption == "Title\nSummary\nLink"
    assert sent.caption_entities == (
        MessageEntity("bold", 0, 5),
        MessageEntity("expandable_blockquote", 6, 7),
        MessageEntity("text_link", 14, 4, url="https://example.org/a"),
    )
    assert sent.show_caption_above_media is True
    assert sent.reply_markup == markup
    assert sent.photo, "a photo has its sizes"

    stored = emulator.bot_messages(user.id)[0]
    assert stored.photo is not None
    assert stored.photo.source_url == LEAD, "a test can see which image Telegram fetched"
    assert stored.photo.file_id == sent.photo[-1].file_id
    assert stored.caption == "Title\nSummary\nLink"
    assert stored.callback_data == ["read:7"]

    again = await bot.send_photo(user.id, sent.photo[-1].file_id, caption="again")
    assert again.photo[-1].file_id == sent.photo[-1].file_id
    assert again.show_caption_above_media is None


async def test_photo_in_a_topic_paid_and_within_the_limits(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    owner = emulator.add_user()
    forum = emulator.add_supergroup("Forum", forum=True, owner_id=owner.id)
    topic = emulator.add_topic(forum.id, "News")
    sent = await bot.send_photo(forum.id, LEAD, message_thread_id=topic, allow_paid_broadcast=True)
    assert sent.message_thread_id == topic
    assert emulator.paid_messages == 1

    emulator.limits = FloodLimits(per_chat_burst=1, per_chat_interval=60.0)
    emulator.enforce_limits = True
    await bot.send_message(owner.id, "first")
    with pytest.raises(RetryAfter):
        await bot.send_photo(owner.id, LEAD)
    assert emulator.calls("sendPhoto")[-1].detail == "per_chat_interval"


@pytest.mark.parametrize(
    ("caption", "error"),
    [
        ("😀" * 513, "Message caption is too long"),
        ("<b>unclosed", "Can't parse entities: can't find end tag"),
        ("<p>para</p>", 'Can\'t parse entities: unsupported start tag "p"'),
    ],
)
async def test_caption_is_checked_like_message_text(
    emulator: Emulator, bot: telegram.Bot, caption: str, error: str
) -> None:
    user = emulator.add_user()
    assert (
        await bot.send_photo(user.id, LEAD, caption="<b>" + "😀" * 512 + "</b>", parse_mode="HTML")
    ).caption
    with pytest.raises(BadRequest, match=error):
        await bot.send_photo(user.id, LEAD, caption=caption, parse_mode="HTML")
    assert len(emulator.bot_messages(user.id)) == 1
    assert len(emulator.take_protocol_errors()) == 1


async def test_a_document_is_no_photo_and_dimensions_are_bounded(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    user = emulator.add_user()
    document = await bot.send_document(user.id, InputFile(io.BytesIO(b"a,b\n"), filename="x.csv"))
    assert document.document is not None
    with pytest.raises(BadRequest, match="Type of file mismatch"):
        await bot.send_photo(user.id, document.document.file_id)
    with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
        await bot.send_photo(user.id, png(9000, 1200))
    with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
        await bot.send_photo(user.id, png(2100, 100))
    assert (await bot.send_photo(user.id, png(2000, 100))).photo[-1].width == 2000
    assert len(emulator.take_protocol_errors()) == 3


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/lead.jpg",
        "https://img.localhost/lead.jpg",
        "http://127.0.0.1/lead.jpg",
        "http://10.0.0.7/lead.jpg",
        "http://192.168.1.2/lead.jpg",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/lead.jpg",
        "http://0.0.0.0/lead.jpg",
    ],
)
async def test_telegram_cannot_fetch_private_hosts(
    emulator: Emulator, bot: telegram.Bot, url: str
) -> None:
    user = emulator.add_user()
    with pytest.raises(BadRequest, match=r"(?i)failed to get http url content"):
        await bot.send_photo(user.id, url, caption="lead")
    assert last_answer(emulator) == (UNREACHABLE, ErrorKind.STATE, None)
    assert emulator.bot_messages(user.id) == []
    assert emulator.stats().delivered == 0
    assert emulator.protocol_errors == [], "the world said no; the bot must fall back"


async def test_a_url_without_a_host_is_the_bots_mistake(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    user = emulator.add_user()
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier/http url specified"):
        await bot.send_photo(user.id, "https:///lead.jpg")
    assert last_answer(emulator) == (WRONG_URL, ErrorKind.PROTOCOL, None)
    assert len(emulator.take_protocol_errors()) == 1


async def test_refused_photo_urls_exact_and_by_prefix(
    emulator: Emulator, bot: telegram.Bot
) -> None:
    user = emulator.add_user()
    emulator.refuse_photo_url(LEAD, "wrong_identifier")
    emulator.refuse_photo_url("https://cdn.example.org/", PhotoRefusal.UNREACHABLE, prefix=True)
    emulator.refuse_photo_url("https://cdn.example.org/svg/", "wrong_type", prefix=True)
    emulator.photo_urls.accept("http://127.0.0.1:9/ok.png")

    with pytest.raises(BadRequest):
        await bot.send_photo(user.id, LEAD)
    assert last_answer(emulator) == (WRONG_URL, ErrorKind.FAULT, "photo_url")
    with pytest.raises(BadRequest):
        await bot.send_photo(user.id, "https://cdn.example.org/2024/other.png")
    assert last_answer(emulator) == (UNREACHABLE, ErrorKind.FAULT, "photo_url")
    with pytest.raises(BadRequest):
        await bot.send_photo(user.id, "https://cdn.example.org/svg/logo.svg")
    assert last_answer(emulator)[0] == "Bad Request: wrong type of the web page content"

    await bot.send_photo(user.id, "https://other.example.org/lead.jpg")
    await bot.send_photo(user.id, "http://127.0.0.1:9/ok.png")
    assert emulator.stats().faults == {"photo_url": 3}
    assert [m.photo.source_url for m in emulator.bot_messages(user.id) if m.photo] == [
        "https://other.example.org/lead.jpg",
        "http://127.0.0.1:9/ok.png",
    ]

    emulator.photo_urls.clear()
    await bot.send_photo(user.id, LEAD)
    assert emulator.protocol_errors == []


async def test_photo_urls_over_the_control_api(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    async with EmulatorClient(emulator.base_url) as control:
        await control.refuse_photo_url("https://cdn.example.org/", prefix=True)
        with pytest.raises(BadRequest, match=r"(?i)failed to get http url content"):
            await bot.send_photo(user.id, LEAD)
        await control.refuse_photo_url(LEAD, None)
        await bot.send_photo(user.id, LEAD)
        await control.refuse_photo_url(LEAD, "wrong_identifier")
        with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
            await bot.send_photo(user.id, LEAD)
        await control.clear_photo_urls()
        await bot.send_photo(user.id, LEAD)
    assert len(emulator.bot_messages(user.id)) == 2
    assert emulator.protocol_errors == []
