"""What the bot asked and what it was answered: the request log and counters.

Protocol errors (requests Telegram would refuse because the bot got something
wrong) are kept apart so a test fixture can fail the test at teardown; refusals
the bot must simply cope with (blocked users, flood limits, injected faults)
are only counted.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from .errors import ErrorKind

STARS_PER_PAID_MESSAGE = 0.1
"""Telegram's fee for a message sent with `allow_paid_broadcast`."""


@dataclass(slots=True)
class RequestRecord:
    seq: int
    at: float
    method: str
    params: dict[str, Any]
    """As received: form values are strings, JSON-typed ones still encoded."""
    files: dict[str, str]
    """Uploaded part name -> file name."""
    status: int
    description: str | None
    kind: ErrorKind | None
    fault: str | None
    detail: str | None
    """Which flood limit refused the call, for 429s the limits caused."""
    duration: float
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    def param(self, name: str) -> Any:
        """A parameter with JSON-typed values decoded."""
        value = self.params.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "method": self.method,
            "params": self.params,
            "files": self.files,
            "status": self.status,
            "description": self.description,
            "kind": self.kind.value if self.kind else None,
            "fault": self.fault,
            "detail": self.detail,
            "duration": self.duration,
        }


@dataclass(frozen=True, slots=True)
class ProtocolError:
    method: str
    status: int
    description: str
    params: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method}: {self.description} (params={self.params!r})"


@dataclass(slots=True)
class Journal:
    limit: int | None = 50_000
    requests: deque[RequestRecord] = field(init=False)
    protocol_errors: list[ProtocolError] = field(default_factory=list)
    by_method: Counter[str] = field(default_factory=Counter)
    total: int = 0
    delivered: int = 0
    flood_429: int = 0
    paid_messages: int = 0
    """Messages accepted with `allow_paid_broadcast` (each billed `STARS_PER_PAID_MESSAGE`)."""

    def __post_init__(self) -> None:
        self.requests = deque(maxlen=self.limit)

    def record(self, entry: RequestRecord) -> None:
        self.total += 1
        self.by_method[entry.method] += 1
        self.requests.append(entry)
        if entry.kind in (ErrorKind.PROTOCOL, ErrorKind.INTERNAL):
            self.protocol_errors.append(
                ProtocolError(entry.method, entry.status, entry.description or "", entry.params)
            )

    def clear(self) -> None:
        self.requests.clear()
        self.protocol_errors.clear()
        self.by_method.clear()
        self.total = self.delivered = self.flood_429 = self.paid_messages = 0

    @property
    def stars_spent(self) -> float:
        """Stars the paid messages cost, to the tenth (the fee's unit)."""
        return round(self.paid_messages * STARS_PER_PAID_MESSAGE, 1)
