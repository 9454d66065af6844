"""Numbers typed as command arguments: only ASCII digits of a sane length count.

`'²'.isdigit()` is true, yet `int('²')` raises; a 5,000-digit number is refused
by `int()` and a 20-digit one overflows SQLite's integers. Each must get the
command's usage answer, never an error.
"""

from __future__ import annotations

import logging

import pytest

from bot.admin.opml import read_opml
from tests.admin.conftest import ADMIN
from tests.harness import Harness

HOSTILE = ("²", "٣", "9" * 25, "9" * 5000, "-5")


@pytest.mark.parametrize("number", HOSTILE)
@pytest.mark.parametrize(
    ("command", "usage"),
    [("/feed_remove", "/feed_remove"), ("/broadcast_cancel", "/broadcast_cancel")],
)
async def test_admin_commands_answer_usage_to_a_number_that_is_not_one(
    admin_harness: Harness,
    caplog: pytest.LogCaptureFixture,
    command: str,
    usage: str,
    number: str,
) -> None:
    with caplog.at_level(logging.ERROR):
        answer = await admin_harness.say(ADMIN, ADMIN, f"{command} {number}")
    assert usage in (answer.text or "")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("number", HOSTILE)
async def test_channel_commands_do_not_fail_on_a_number_that_is_not_one(
    admin_harness: Harness, caplog: pytest.LogCaptureFixture, number: str
) -> None:
    with caplog.at_level(logging.ERROR):
        await admin_harness.say(ADMIN, ADMIN, f"/channel_settings {number}")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("minutes", ["²", "9" * 5000, "0", "-3"])
def test_an_opml_poll_interval_that_is_not_a_number_is_ignored(minutes: str) -> None:
    document = read_opml(
        b'<opml version="2.0"><body><outline xmlUrl="https://example.org/feed" '
        + f'pollMinutes="{minutes}"/></body></opml>'.encode()
    )
    assert [feed.poll_minutes for feed in document.feeds] == [None]
