"""Typed access to the parameters of one Bot API call.

PTB sends form fields whose non-string values are JSON-encoded (`"123"`,
`"true"`, `'{"inline_keyboard": ...}'`), or multipart when it uploads files.
Other clients send a JSON body with native values. `Params` accepts both, so
handlers never care how a value travelled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_request


@dataclass(frozen=True, slots=True)
class Upload:
    """One file sent as a multipart part."""

    field: str
    file_name: str
    mime_type: str
    data: bytes


class Params:
    """The parameters of one call; every accessor raises a Telegram-worded 400."""

    __slots__ = ("raw", "uploads")

    def __init__(self, raw: Mapping[str, Any], uploads: Mapping[str, Upload] | None = None) -> None:
        self.raw: dict[str, Any] = dict(raw)
        self.uploads: dict[str, Upload] = dict(uploads or {})

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def string(self, name: str, *, missing: str | None = None) -> str:
        value = self.optional_string(name)
        if value is None:
            raise bad_request(missing or f"{name} is empty")
        return value

    def optional_string(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value if value != "" else None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        raise bad_request(f'parameter "{name}" must be a String')

    def integer(self, name: str, *, missing: str | None = None) -> int:
        value = self.optional_integer(name)
        if value is None:
            raise bad_request(missing or f"{name} is empty")
        return value

    def optional_integer(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def optional_number(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return False
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise bad_request(f"invalid {name} specified")

    def optional_json(self, name: str, *, error: str | None = None) -> Any:
        """A JSON-typed value: decoded when it arrived as a form string."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(error or f"can't parse {name} JSON object") from None

    def chat_ref(self, name: str = "chat_id") -> int | str:
        """A chat id or an `@username`; Telegram treats anything else as an unknown chat."""
        value = self.raw.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, bool):
            raise bad_request("chat not found")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise bad_request("chat not found") from None


def decode_json_object(text: str) -> dict[str, Any]:
    """A JSON request body; Telegram answers 400 when it is not an object."""
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        raise ApiError(400, "Bad Request: can't parse JSON body") from None
    if not isinstance(value, dict):
        raise ApiError(400, "Bad Request: JSON body must be an object")
    return value
