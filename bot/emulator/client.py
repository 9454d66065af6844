"""`EmulatorClient`: drive a standalone emulator from another process.

The mirror image of the `Emulator` Python API over the JSON control API, for
benchmarks and tools that talk to `python -m bot.emulator`. Results are the
plain JSON the routes return (Bot API shapes for users, chats and messages).
"""

from __future__ import annotations

import base64
from types import TracebackType
from typing import Any

import httpx

from .control import PREFIX

JSON = dict[str, Any]


class ControlError(RuntimeError):
    """The control API refused a request."""


class EmulatorClient:
    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        """`url` is the emulator's root (`http://127.0.0.1:8081`) or its base_url."""
        root = url.rstrip("/").removesuffix("/bot")
        self._http = httpx.AsyncClient(base_url=root + PREFIX, timeout=timeout)

    async def __aenter__(self) -> EmulatorClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, verb: str, path: str, body: JSON | None = None, **query: Any) -> Any:
        params = {k: v for k, v in query.items() if v is not None}
        response = await self._http.request(verb, path, json=body, params=params)
        payload = response.json()
        if not payload.get("ok"):
            raise ControlError(f"{verb} {path}: {payload.get('description')}")
        return payload["result"]

    # -- configuration -------------------------------------------------------------

    async def health(self) -> JSON:
        result: JSON = await self._call("GET", "/health")
        return result

    async def configure(
        self,
        *,
        enforce_limits: bool | None = None,
        limits: JSON | None = None,
        faults: JSON | None = None,
    ) -> JSON:
        """Switch flood limits and set FloodLimits / FaultPlan fields by name."""
        body: JSON = {}
        if enforce_limits is not None:
            body["enforce_limits"] = enforce_limits
        if limits is not None:
            body["limits"] = limits
        if faults is not None:
            body["faults"] = faults
        result: JSON = await self._call("PUT", "/config", body)
        return result

    async def stats(self) -> JSON:
        result: JSON = await self._call("GET", "/stats")
        return result

    async def reset_counters(self) -> None:
        await self._call("POST", "/reset_counters")

    async def inject_chat_fault(self, chat_id: int, fault: str) -> None:
        await self._call("POST", f"/chats/{chat_id}/faults", {"fault": fault})

    async def inject_thread_fault(self, chat_id: int, thread_id: int) -> None:
        await self._call("POST", f"/chats/{chat_id}/faults", {"thread_id": thread_id})

    async def clear_faults(self, chat_id: int) -> None:
        await self._call("DELETE", f"/chats/{chat_id}/faults")

    # -- the world -----------------------------------------------------------------

    async def add_user(self, first_name: str = "Test", **fields: Any) -> JSON:
        """Fields: user_id, username, last_name, language_code, started."""
        result: JSON = await self._call("POST", "/users", {"first_name": first_name, **fields})
        return result

    async def add_chat(self, chat_type: str, title: str, **fields: Any) -> JSON:
        """chat_type: group, supergroup or channel. Fields: chat_id, username, forum,
        members, admins, owner_id, bot_status."""
        body = {"type": chat_type, "title": title, **fields}
        result: JSON = await self._call("POST", "/chats", body)
        return result

    async def add_topic(self, chat_id: int, name: str) -> int:
        result = await self._call("POST", f"/chats/{chat_id}/topics", {"name": name})
        return int(result["message_thread_id"])

    async def set_admin(self, chat_id: int, user_id: int, is_admin: bool = True) -> None:
        body = {"user_id": user_id, "is_admin": is_admin}
        await self._call("POST", f"/chats/{chat_id}/admins", body)

    async def migrate_to_supergroup(self, chat_id: int) -> int:
        result = await self._call("POST", f"/chats/{chat_id}/migrate", {})
        return int(result["chat_id"])

    async def bot_membership_changed(self, chat_id: int, by_user_id: int, status: str) -> Any:
        body = {"by_user_id": by_user_id, "status": status}
        return await self._call("POST", f"/chats/{chat_id}/bot_membership", body)

    async def publish_feed(self, name: str, body: str) -> str:
        """Serve `body` as the RSS feed `name` beside the Bot API; returns its URL."""
        result = await self._call("PUT", f"/feeds/{name}", {"body": body})
        return str(result["url"])

    async def refuse_photo_url(
        self, url: str, refusal: str | None = "unreachable", *, prefix: bool = False
    ) -> None:
        """Make sendPhoto fail for `url` (or URLs starting with it) as Telegram would;
        `refusal=None` accepts it instead (see `Emulator.refuse_photo_url`)."""
        body = {"url": url, "refusal": refusal, "prefix": prefix}
        await self._call("POST", "/photo_urls", body)

    async def clear_photo_urls(self) -> None:
        await self._call("DELETE", "/photo_urls")

    # -- people acting -------------------------------------------------------------

    async def send_user_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> JSON | None:
        body = {
            "chat_id": chat_id,
            "user_id": user_id,
            "text": text,
            "thread_id": thread_id,
            "reply_to": reply_to,
        }
        result: JSON | None = await self._call("POST", "/messages", body)
        return result

    async def send_user_document(
        self,
        chat_id: int,
        user_id: int,
        content: bytes,
        file_name: str,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> JSON | None:
        body = {
            "chat_id": chat_id,
            "user_id": user_id,
            "content_base64": base64.b64encode(content).decode(),
            "file_name": file_name,
            "mime_type": mime_type,
            "caption": caption,
        }
        result: JSON | None = await self._call("POST", "/documents", body)
        return result

    async def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str | None = None,
        *,
        index: int | tuple[int, int] | None = None,
        text: str | None = None,
        user_id: int | None = None,
        forged_data: str | None = None,
    ) -> str:
        """Press a button as `user_id` (anyone who can see the message, such as a
        channel's reader); `forged_data` sends any data, as a modified client can."""
        body = {
            "chat_id": chat_id,
            "message_id": message_id,
            "callback_data": callback_data,
            "index": list(index) if isinstance(index, tuple) else index,
            "text": text,
            "user_id": user_id,
            "forged_data": forged_data,
        }
        result = await self._call("POST", "/callbacks", body)
        return str(result["callback_query_id"])

    async def callback_answer(self, query_id: str) -> JSON:
        result: JSON = await self._call("GET", f"/callbacks/{query_id}")
        return result

    async def inline_query(self, user_id: int, query: str, offset: str = "") -> str:
        body = {"user_id": user_id, "query": query, "offset": offset}
        result = await self._call("POST", "/inline_queries", body)
        return str(result["inline_query_id"])

    async def inline_answer(self, query_id: str) -> JSON:
        result: JSON = await self._call("GET", f"/inline_queries/{query_id}")
        return result

    async def channel_post(self, chat_id: int, text: str) -> JSON | None:
        result: JSON | None = await self._call(
            "POST", "/channel_posts", {"chat_id": chat_id, "text": text}
        )
        return result

    # -- reading back --------------------------------------------------------------

    async def messages(
        self,
        chat_id: int,
        *,
        from_bot: bool = False,
        thread_id: int | None = None,
        since_seq: int | None = None,
    ) -> list[JSON]:
        """Messages now in the chat; each also carries `seq` and `from_bot`."""
        result: list[JSON] = await self._call(
            "GET",
            f"/chats/{chat_id}/messages",
            from_bot="1" if from_bot else None,
            thread_id=thread_id,
            since_seq=since_seq,
        )
        return result

    async def wait_for_bot_message(
        self,
        chat_id: int,
        *,
        after_seq: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JSON:
        """The first bot message in the chat with `seq` above `after_seq`."""
        result: JSON = await self._call(
            "GET", "/wait/bot_message", chat_id=chat_id, after_seq=after_seq, timeout=timeout
        )
        return result

    async def requests(self, *, since: int = 0, method: str | None = None) -> list[JSON]:
        result: list[JSON] = await self._call("GET", "/requests", since=since, method=method)
        return result

    async def protocol_errors(self) -> list[JSON]:
        result: list[JSON] = await self._call("GET", "/protocol_errors")
        return result

    async def file_bytes(self, file_id: str) -> bytes:
        response = await self._http.get(f"/files/{file_id}")
        if response.status_code != 200:
            raise ControlError(f"no file {file_id}")
        return response.content
