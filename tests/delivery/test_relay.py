"""The relay's parts (`bot.delivery.relay`): what a relayed request is stored as,
how Telegram's answer travels back and is raised again, and how long a follower
waits for a leader that does not answer. The two bots together are tested in
tests/telegram/test_relay.py."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.delivery.ratelimiter import retry_after_seconds
from bot.delivery.relay import RelayClient, decode_answer, encode_answer, request_of
from bot.store import relay as relay_store
from bot.store.db import Database
from bot.store.leader import Leadership, notices_for


def test_a_request_is_stored_as_ptb_would_send_it() -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Más", callback_data="more:2")]])
    stored = request_of(
        "sendMessage",
        {"chat_id": 5, "text": "¿Qué tal?", "reply_markup": keyboard, "parse_mode": None},
        {"kind": "notice"},
    )
    assert stored is not None
    assert (stored.method, stored.kind) == ("sendMessage", "notice")
    assert json.loads(stored.params) == {
        "chat_id": 5,
        "text": "¿Qué tal?",
        "reply_markup": {"inline_keyboard": [[{"text": "Más", "callback_data": "more:2"}]]},
    }
    assert "¿Qué tal?" in stored.params  # text as is, not escaped
    replied = request_of("copyMessage", {"chat_id": 5, "from_chat_id": 6, "message_id": 7}, None)
    assert replied is not None
    assert replied.kind == "reply"


def test_files_and_media_lists_are_not_relayed() -> None:
    upload = InputFile(b"a,b\n", filename="export.csv")
    assert request_of("sendDocument", {"chat_id": 5, "document": upload}, None) is None
    album = [{"type": "photo", "media": "https://example.org/a.jpg"}]
    assert request_of("sendMediaGroup", {"chat_id": 5, "media": album}, None) is None
    by_id = request_of("sendDocument", {"chat_id": 5, "document": "BQACAgIAAx0"}, None)
    assert by_id is not None
    assert json.loads(by_id.params) == {"chat_id": 5, "document": "BQACAgIAAx0"}


def test_a_result_comes_back_as_telegram_gave_it() -> None:
    result = {"message_id": 9, "chat": {"id": 5, "type": "private"}, "text": "ñ", "date": 1}
    assert decode_answer(encode_answer(result)) == result
    assert decode_answer(encode_answer(True)) is True


@pytest.mark.parametrize(
    "error",
    [
        Forbidden("Forbidden: bot was blocked by the user"),
        BadRequest("Bad Request: chat not found"),
        BadRequest("Bad Request: Error: odd"),  # PTB's prefixes, stripped once only
        ChatMigrated(-1001234567890),
        RetryAfter(7),
        RetryAfter(timedelta(seconds=2.5)),
        TimedOut(),
        NetworkError("Bad Gateway"),
        InvalidToken("Unauthorized"),
        TelegramError("Something else"),
    ],
    ids=repr,
)
def test_an_error_is_raised_again_as_ptb_raised_it(error: TelegramError) -> None:
    with pytest.raises(TelegramError) as again:
        decode_answer(encode_answer(error=error))
    assert type(again.value) is type(error)
    assert again.value.message == error.message
    if isinstance(error, ChatMigrated):
        assert isinstance(again.value, ChatMigrated)
        assert again.value.new_chat_id == error.new_chat_id
    if isinstance(error, RetryAfter):
        assert isinstance(again.value, RetryAfter)
        assert retry_after_seconds(again.value) == retry_after_seconds(error)


def test_the_errors_a_direct_call_would_not_have_raised_are_not_passed_on() -> None:
    # Sent by name, a rejected token comes as EndPointNotFound; the typed method the
    # follower called raises InvalidToken.
    try:
        try:
            raise InvalidToken("Unauthorized")
        except InvalidToken as rejected:
            raise EndPointNotFound("Endpoint 'sendMessage' not found in Bot API") from rejected
    except EndPointNotFound as renamed:
        with pytest.raises(InvalidToken, match="Unauthorized"):
            decode_answer(encode_answer(error=renamed))
    # Not an answer of Telegram's: as a transport failure.
    with pytest.raises(NetworkError, match="OSError: connection reset"):
        decode_answer(encode_answer(error=OSError("connection reset")))
    stored = json.loads(encode_answer(error=Forbidden("Forbidden: bot was blocked by the user")))
    assert stored == {
        "error": {
            "type": "Forbidden",
            "code": 403,
            "description": "Forbidden: bot was blocked by the user",
        }
    }


async def test_a_follower_waits_for_the_leader_only_so_long(postgres_url: str) -> None:
    db = await Database.open(postgres_url)
    notices = notices_for(db)
    client = RelayClient(db, notices, Leadership(leading=False), wait=0.5, poll=0.1)
    await client.start()
    try:
        assert client.active
        request = request_of("sendMessage", {"chat_id": 5, "text": "Nobody leads"}, None)
        assert request is not None
        with pytest.raises(TimedOut):
            await client.send(request)
        # Never claimed: given up, so no leader will send it later.
        assert await db.fetchval("SELECT state FROM relay") == "abandoned"
        assert await relay_store.claim(db, now=time.time(), limit=10) == []
    finally:
        await client.stop()
        await notices.close()
        await db.close()
    assert not client.active
