"""An in-process Bot API for sender unit tests: PTB's request layer, scripted answers.

It sits where HTTPXRequest would, so PTB turns its answers into the same
exceptions (Forbidden, ChatMigrated, RetryAfter, ...) a real server causes.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TimedOut
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData

from bot.delivery.limits import Limits
from bot.delivery.ratelimiter import TelegramRateLimiter

TOKEN = "123456:TEST-token"


@dataclass(frozen=True)
class Answer:
    """A scripted reply: an HTTP error with Telegram's JSON body, or a timeout."""

    status: int
    description: str = ""
    parameters: dict[str, Any] | None = None
    timeout: bool = False


def forbidden(text: str = "bot was blocked by the user") -> Answer:
    return Answer(403, f"Forbidden: {text}")


def bad_request(text: str) -> Answer:
    return Answer(400, f"Bad Request: {text}")


def migrated(new_chat_id: int) -> Answer:
    return Answer(400, "Bad Request: group chat was upgraded", {"migrate_to_chat_id": new_chat_id})


def retry_after(seconds: int) -> Answer:
    return Answer(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


SERVER_ERROR = Answer(502, "Bad Gateway")
TIMEOUT = Answer(0, timeout=True)


@dataclass
class Delivered:
    method: str
    chat_id: int
    params: dict[str, Any]
    message_id: int
    at: float


@dataclass
class FakeTelegram(BaseRequest):
    """Accepts every send unless a scripted answer is queued for that chat."""

    script: dict[int, list[Answer]] = field(default_factory=lambda: defaultdict(list))
    always: dict[int, Answer] = field(default_factory=dict)
    delivered: list[Delivered] = field(default_factory=list)
    requests: int = 0

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        self.requests += 1
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        if endpoint == "getMe":
            return self._ok({"id": 1, "is_bot": True, "first_name": "Bot", "username": "bot"})
        chat_id = int(str(params["chat_id"]))
        answer = self.always.get(chat_id)
        if answer is None and self.script.get(chat_id):
            answer = self.script[chat_id].pop(0)
        if answer is not None:
            if answer.timeout:
                raise TimedOut("scripted timeout")
            body: dict[str, Any] = {
                "ok": False,
                "error_code": answer.status,
                "description": answer.description,
            }
            if answer.parameters:
                body["parameters"] = answer.parameters
            return answer.status, json.dumps(body).encode()
        message_id = len(self.delivered) + 1
        self.delivered.append(Delivered(endpoint, chat_id, params, message_id, time.monotonic()))
        if endpoint == "copyMessage":
            return self._ok({"message_id": message_id})
        chat_type = "private" if chat_id > 0 else "supergroup"
        return self._ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type},
                "text": str(params.get("text", "")),
            }
        )

    @staticmethod
    def _ok(result: dict[str, Any]) -> tuple[int, bytes]:
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def to(self, chat_id: int) -> list[Delivered]:
        return [message for message in self.delivered if message.chat_id == chat_id]


def fake_bot(
    telegram: FakeTelegram, limits: Limits | None = None, *, max_retries: int | None = None
) -> ExtBot[Any]:
    limiter = TelegramRateLimiter(
        limits or Limits(rate_per_second=500, private_interval=0.01, group_interval=0.01),
        max_retries=max_retries,
    )
    return ExtBot(TOKEN, request=telegram, get_updates_request=telegram, rate_limiter=limiter)
