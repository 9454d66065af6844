"""Log lines as text or JSON, the token redacted in both."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from bot.logs import REDACTED, JsonFormatter, configure_logging
from bot.store import outbox
from bot.store.outbox import NewMessage
from tests.harness import Harness

TOKEN = "123456:AAH-secret-token-value"


@pytest.fixture
def stream(capsys: pytest.CaptureFixture[str]) -> Iterator[Written]:
    """What configure_logging's handler writes to stderr; the root's handlers put back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield Written(capsys)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


class Written:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.text = ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().err
        return self.text


def lines(stream: Written) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_message_and_the_extra_fields(
    stream: Written,
) -> None:
    configure_logging("INFO", [TOKEN], "json")
    log = logging.getLogger("bot.delivery.sender")
    log.info("chat %d is gone", 42, extra={"outbox_id": 7, "chat_kind": "private"})
    log.debug("not written at INFO")
    try:
        raise ValueError("bad row")
    except ValueError:
        logging.getLogger("bot.errors").exception("failed", extra={"update_type": "message"})
    first, second = lines(stream)
    assert first["level"] == "INFO"
    assert first["logger"] == "bot.delivery.sender"
    assert first["message"] == "chat 42 is gone"
    assert first["outbox_id"] == 7
    assert first["chat_kind"] == "private"
    assert "exception" not in first
    stamp = datetime.fromisoformat(str(first["time"]))
    assert stamp.utcoffset() is not None
    assert stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert second["level"] == "ERROR"
    assert second["message"] == "failed"
    assert second["update_type"] == "message"
    assert "ValueError: bad row" in str(second["exception"])
    assert "Traceback" in str(second["exception"])


def test_the_token_is_redacted_in_json_lines(stream: Written) -> None:
    configure_logging("INFO", [TOKEN], "json")
    log = logging.getLogger("httpx")
    log.warning("POST https://api.telegram.org/bot%s/sendMessage", TOKEN, extra={"url": TOKEN})
    try:
        raise RuntimeError(f"cannot reach /bot{TOKEN}/getMe")
    except RuntimeError:
        log.exception("request failed")
    written = stream.getvalue()
    assert TOKEN not in written
    first, second = lines(stream)
    assert first["message"] == f"POST https://api.telegram.org/bot{REDACTED}/sendMessage"
    assert first["url"] == REDACTED
    assert f"/bot{REDACTED}/getMe" in str(second["exception"])


def test_text_stays_the_default_and_is_redacted_too(stream: Written) -> None:
    configure_logging("INFO", [TOKEN])
    logging.getLogger("httpx").warning("GET /bot%s/getUpdates", TOKEN)
    written = stream.getvalue()
    assert TOKEN not in written
    assert f"WARNING httpx: GET /bot{REDACTED}/getUpdates" in written
    with pytest.raises(json.JSONDecodeError):
        json.loads(written.splitlines()[0])


async def test_a_sender_outcome_carries_the_row_as_fields(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A message to a chat Telegram does not know: the sender's log line names the
    row, its kind and the outcome as fields a JSON line carries."""
    unknown = 424_242
    await outbox.enqueue(harness.services.db, [NewMessage.text(unknown, "Hi", kind="notice")])
    with caplog.at_level(logging.INFO, logger="bot.delivery.sender"):
        harness.services.wake_sender()
        await harness.sender.wait_empty()
    (record,) = [r for r in caplog.records if r.name == "bot.delivery.sender"]
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == f"chat {unknown} not found: deactivated"
    assert line["chat_id"] == unknown
    assert line["outbox_kind"] == "notice"
    assert line["outcome"] == "dropped"
    assert isinstance(line["outbox_id"], int)
    (refused,) = harness.emulator.take_protocol_errors()  # the 400 this test asked for
    assert refused.description == "Bad Request: chat not found"
