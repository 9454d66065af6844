"""Logging set-up that never prints secrets, as text for a terminal or as JSON
lines for a log collector.

httpx logs every request URL, and Bot API URLs contain the token; a filter on
the root handler replaces any configured secret with a placeholder before a
record is written, whoever logged it and whichever format writes it.

The JSON format is a small `logging.Formatter` subclass rather than a library
(python-json-logger): it is one `json.dumps` of a fixed set of keys plus the
record's `extra=` fields, and the stdlib does the rest (exception text, the
redaction filter's cached `exc_text`), so a dependency would add little.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

REDACTED = "[REDACTED]"
LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# What every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a call passed with `extra=` (chat_kind, outbox_id, ...)."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = [secret for secret in secrets if secret and len(secret) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = self._redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
        if redacted != message:
            record.msg, record.args = redacted, None
        for key, value in extras(record).items():
            if isinstance(value, str):
                setattr(record, key, self._redact(value))
        return True

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message, the
    exception's text when there is one, and the record's `extra=` fields. Values
    JSON cannot hold are written as their `str`, so a field never loses a line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        for key, value in extras(record).items():
            line.setdefault(key, value)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(
    level: str, secrets: Iterable[str] = (), log_format: LogFormat = "text"
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # One line per HTTP request is noise at INFO; failures still surface via PTB.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
