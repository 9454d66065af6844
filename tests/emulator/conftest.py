"""Fixtures: a running emulator and a PTB `Bot` pointed at it over loopback HTTP."""

from __future__ import annotations

import datetime as dtm
import warnings
from collections.abc import AsyncIterator

import pytest
import telegram
from telegram.error import RetryAfter
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.emulator import Emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """Fails the test at teardown if the bot made a request Telegram would refuse."""
    async with Emulator() as emulator:
        yield emulator
        errors = emulator.protocol_errors
        assert not errors, "protocol errors:\n" + "\n".join(map(str, errors))


def make_bot(emulator: Emulator, *, read_timeout: float = 5.0) -> telegram.Bot:
    return telegram.Bot(
        emulator.token,
        base_url=emulator.base_url,
        base_file_url=emulator.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout, connection_pool_size=16),
        get_updates_request=HTTPXRequest(read_timeout=5.0),
    )


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[telegram.Bot]:
    async with make_bot(emulator) as bot:
        yield bot


def retry_seconds(error: RetryAfter) -> float:
    """`retry_after` in seconds, whether PTB gives an int or (opted in) a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)
