"""Uploads the bot makes and downloads of files users send."""

from __future__ import annotations

import io
import struct

import pytest
import telegram
from telegram import InputFile
from telegram.error import BadRequest

from bot.emulator import Emulator

OPML = b'<?xml version="1.0"?><opml version="2.0"><body><outline text="x"/></body></opml>'


def png(width: int, height: int) -> bytes:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    return header + struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00" + b"\x00" * 16


async def test_send_document_stores_the_bytes(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    sent = await bot.send_document(
        user.id,
        InputFile(io.BytesIO(b"id,title\n1,Hello\n"), filename="export.csv"),
        caption="<b>Your export</b>",
        parse_mode="HTML",
    )
    assert sent.document is not None
    assert sent.document.file_name == "export.csv"
    assert sent.caption == "Your export"
    stored = emulator.bot_messages(user.id)[0]
    assert stored.document is not None
    assert stored.document.data == b"id,title\n1,Hello\n"
    record = emulator.file(sent.document.file_id)
    assert record is not None
    assert record.data == b"id,title\n1,Hello\n"
    assert emulator.calls("sendDocument")[0].files == {"document": "export.csv"}

    again = await bot.send_document(user.id, sent.document.file_id)
    assert again.document is not None
    assert again.document.file_id == sent.document.file_id


async def test_send_photo_reports_its_size(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    sent = await bot.send_photo(user.id, png(640, 480), caption="chart")
    assert sent.photo[-1].width == 640
    assert sent.photo[-1].height == 480
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(user.id, png(1, 1), caption="x" * 1025)
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(user.id, "no-such-file-id")
    assert len(emulator.take_protocol_errors()) == 2


async def test_user_document_can_be_downloaded(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    emulator.send_user_document(
        user.id, user.id, OPML, "feeds.opml", mime_type="text/x-opml", caption="/import"
    )
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.document is not None
    assert update.message.caption == "/import"
    assert update.message.caption_entities[0].type == "bot_command"
    file = await update.message.document.get_file()
    assert file.file_path is not None
    assert file.file_path.startswith(emulator.base_file_url)
    assert bytes(await file.download_as_bytearray()) == OPML

    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")
    assert len(emulator.take_protocol_errors()) == 1
