"""Bot API error answers, with the exact wording Telegram uses.

Every refusal is raised as an `ApiError` and turned into the JSON body
`{"ok": false, "error_code": .., "description": .., "parameters": ..}` in one
place. Its `kind` says whose fault it was, which decides whether a test should
fail because of it: only `PROTOCOL` errors are mistakes of the bot.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    PROTOCOL = "protocol"
    """The request itself was wrong: the bot has a bug."""
    STATE = "state"
    """The world said no (user blocked the bot, group migrated): the bot must cope."""
    FLOOD = "flood"
    """A flood limit was exceeded."""
    FAULT = "fault"
    """Injected on purpose by the emulator."""
    AUTH = "auth"
    """Wrong token."""
    INTERNAL = "internal"
    """A bug in the emulator itself; reported with protocol errors so it is not missed."""


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        kind: ErrorKind = ErrorKind.PROTOCOL,
        parameters: dict[str, int] | None = None,
        fault: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.kind = kind
        self.parameters = parameters
        self.fault = fault
        self.detail: str | None = None
        """Why, when the description alone does not say (e.g. which flood limit)."""

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    def as_fault(self, fault: str) -> ApiError:
        """The same answer, marked as deliberately injected."""
        return ApiError(
            self.status,
            self.description,
            kind=ErrorKind.FAULT,
            parameters=self.parameters,
            fault=fault,
        )


def bad_request(text: str, *, kind: ErrorKind = ErrorKind.PROTOCOL) -> ApiError:
    return ApiError(400, f"Bad Request: {text}", kind=kind)


def forbidden(text: str, *, kind: ErrorKind = ErrorKind.STATE) -> ApiError:
    return ApiError(403, f"Forbidden: {text}", kind=kind)


def chat_not_found() -> ApiError:
    return bad_request("chat not found")


def cant_parse_entities(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def too_many_requests(retry_after: int, *, kind: ErrorKind = ErrorKind.FLOOD) -> ApiError:
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        kind=kind,
        parameters={"retry_after": retry_after},
    )


def migrated(new_chat_id: int) -> ApiError:
    return ApiError(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        kind=ErrorKind.STATE,
        parameters={"migrate_to_chat_id": new_chat_id},
    )


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", kind=ErrorKind.AUTH)


def conflict(text: str) -> ApiError:
    return ApiError(409, f"Conflict: {text}", kind=ErrorKind.STATE)


NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
