"""The aiohttp request object, over real HTTP to the emulator on 127.0.0.1.

Its contract is PTB's `BaseRequest`: answers come back as (status, body),
timeouts raise `TimedOut`, other transport failures `NetworkError`, uploads
go as multipart, and the Application's bot really sends through it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Settings
from bot.emulator import Emulator, FaultPlan
from bot.telegram.app import build_application
from bot.telegram.request import NOT_SENT, AiohttpRequest
from tests.emulator.test_files import png


def make_bot(emulator: Emulator, request: AiohttpRequest) -> telegram.Bot:
    return telegram.Bot(
        emulator.token,
        base_url=emulator.base_url,
        base_file_url=emulator.base_file_url,
        request=request,
    )


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[telegram.Bot]:
    async with make_bot(emulator, AiohttpRequest()) as running:
        yield running


async def test_the_applications_bot_sends_through_it_when_paid_broadcasts_are_on(
    emulator: Emulator, settings: Settings
) -> None:
    settings = settings.model_copy(
        update={"telegram_base_url": emulator.base_url, "paid_broadcast_rate": 1000}
    )
    application = build_application(settings, emulator.token)
    request = application.bot.request
    assert isinstance(request, AiohttpRequest)
    await application.initialize()  # getMe, through the request object
    try:
        assert not request.closed
        assert [call.method for call in emulator.calls("getMe")] == ["getMe"]
    finally:
        await application.shutdown()
    assert request.closed  # PTB's shutdown closed the session and its connections


def test_the_free_budget_keeps_ptbs_own_client(settings: Settings) -> None:
    """Without paid broadcasts nothing needs aiohttp's rate: the bot idles without it."""
    application = build_application(settings, "123:abc")
    assert isinstance(application.bot.request, HTTPXRequest)


async def test_a_message_with_markup_round_trips(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Más", callback_data="more:2")]])
    sent = await bot.send_message(
        user.id, "<b>Migración</b> &amp; “quotes”", parse_mode="HTML", reply_markup=keyboard
    )
    assert sent.text == "Migración & “quotes”"
    stored = emulator.bot_messages(user.id)[0]
    assert stored.text == "Migración & “quotes”"
    assert [button["text"] for button in stored.buttons] == ["Más"]
    # An error answer is the Bot API's, not the transport's.
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(user.id, "")
    assert len(emulator.take_protocol_errors()) == 1


async def test_uploads_go_as_multipart(
    emulator: Emulator, bot: telegram.Bot, tmp_path: Path
) -> None:
    user = emulator.add_user()
    chart = png(640, 480)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Actualizar", callback_data="r")]])
    sent = await bot.send_photo(
        user.id, chart, caption="<i>Últimos 30 días</i>", parse_mode="HTML", reply_markup=keyboard
    )
    assert sent.photo[-1].width == 640
    stored = emulator.bot_messages(user.id)[0]
    assert stored.photo is not None
    assert stored.photo.data == chart
    assert stored.caption == "Últimos 30 días"
    assert [button["text"] for button in stored.buttons] == ["Actualizar"]

    export = tmp_path / "export.csv"
    export.write_bytes(b"id,title\n1,Hola\n")
    with export.open("rb") as handle:  # a file handle, not bytes: streamed as it is read
        await bot.send_document(user.id, InputFile(handle, filename="export.csv"))
    document = emulator.bot_messages(user.id)[1].document
    assert document is not None
    assert document.data == b"id,title\n1,Hola\n"
    assert emulator.calls("sendDocument")[0].files == {"document": "export.csv"}


async def test_nested_parameters_go_as_json_objects(emulator: Emulator, bot: telegram.Bot) -> None:
    """One JSON document with native values, as the Bot API reads it: not PTB's form
    values, each nested object a string of JSON inside the JSON."""
    user = emulator.add_user()
    await bot.send_message(user.id, "x", link_preview_options=LinkPreviewOptions(is_disabled=True))
    params = emulator.calls("sendMessage")[0].params
    assert params["chat_id"] == user.id
    assert params["link_preview_options"] == {"is_disabled": True}


@pytest.mark.parametrize(
    "answer",
    [
        b'{"ok": true, "result": {"text": "caf\xc3\xa9"}}',
        b'{"ok": true, "result": {"text": "broken \xff byte"}}',  # not UTF-8: replaced
        b'{"ok": true, "result": {"message_id": 7, "chat": {"id": -1001234567890}}}',
    ],
)
def test_answers_parse_as_ptbs_own_parser_reads_them(answer: bytes) -> None:
    assert AiohttpRequest.parse_json_payload(answer) == BaseRequest.parse_json_payload(answer)


def test_an_answer_that_is_not_json_is_ptbs_invalid_response() -> None:
    with pytest.raises(TelegramError, match="Invalid server response"):
        AiohttpRequest.parse_json_payload(b"<html>502 Bad Gateway</html>")


async def test_downloads_are_plain_gets(emulator: Emulator, bot: telegram.Bot) -> None:
    user = emulator.add_user()
    sent = await bot.send_document(user.id, InputFile(b"<opml/>", filename="feeds.opml"))
    assert sent.document is not None
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"<opml/>"


async def test_a_stalled_answer_times_out(emulator: Emulator) -> None:
    user = emulator.add_user()
    emulator.fault_plan = FaultPlan(rate_timeout=1.0, timeout_delay=2.0)
    async with make_bot(emulator, AiohttpRequest(read_timeout=0.2)) as impatient:
        with pytest.raises(TimedOut):
            await impatient.send_message(user.id, "x")
    # The per-call timeout replaces the default (PTB passes DEFAULT_NONE when not given).
    async with make_bot(emulator, AiohttpRequest(read_timeout=60.0)) as patient:
        with pytest.raises(TimedOut):
            await patient.send_message(user.id, "x", read_timeout=0.2)
    assert emulator.bot_messages(user.id) == []
    assert emulator.stats().faults == {"timeout": 2}


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest()
    bot = telegram.Bot("1:x", base_url=f"http://127.0.0.1:{port}/bot", request=request)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await bot.get_me()
    finally:
        await request.shutdown()
    assert not isinstance(refused.value, TimedOut)
    assert "aiohttp.ClientConnectorError" in str(refused.value)


async def test_the_pool_bounds_connections(emulator: Emulator) -> None:
    users = [emulator.add_user() for _ in range(6)]
    emulator.fault_plan = FaultPlan(rate_slow=1.0, slow_latency=0.3)
    request = AiohttpRequest(connection_pool_size=2, pool_timeout=None)
    async with make_bot(emulator, request) as bot:
        await asyncio.gather(*(bot.send_message(user.id, "x") for user in users))
    calls = emulator.calls("sendMessage")
    assert len(calls) == 6
    spans = [(call.at - call.duration, call.at) for call in calls]
    # How many were being answered halfway through each one (edges are left out: a freed
    # connection's next request may start a moment before the last answer is logged).
    middles = [(start + end) / 2 for start, end in spans]
    overlapping = max(sum(1 for s, e in spans if s < middle < e) for middle in middles)
    assert overlapping == 2


async def test_a_full_pool_times_out_before_sending(emulator: Emulator) -> None:
    first, second = emulator.add_user(), emulator.add_user()
    emulator.fault_plan = FaultPlan(rate_slow=1.0, slow_latency=1.0)
    async with make_bot(emulator, AiohttpRequest(connection_pool_size=1)) as bot:
        holding, waiting = await asyncio.gather(
            bot.send_message(first.id, "holds the only connection"),
            bot.send_message(second.id, "x", pool_timeout=0.05, connect_timeout=0.05),
            return_exceptions=True,
        )
    assert isinstance(holding, telegram.Message)
    assert isinstance(waiting, TimedOut)
    assert NOT_SENT in str(waiting)
    assert [call.params["chat_id"] for call in emulator.calls("sendMessage")] == [first.id]


async def test_shutdown_closes_and_initialize_reopens(emulator: Emulator) -> None:
    request = AiohttpRequest()
    bot = make_bot(emulator, request)
    async with bot:
        assert not request.closed
    assert request.closed
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{emulator.base_url}{emulator.token}/getMe")
    await request.shutdown()  # twice is harmless
    async with bot:  # a restarted Application initialises its bot again
        assert (await bot.get_me()).is_bot
    assert request.closed
