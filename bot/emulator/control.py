"""The JSON control API under `/_emulator/`: the Python API for another process.

A benchmark or a terminal chat running in a separate process drives a
standalone emulator with these routes. Answers are `{"ok": true, "result": ..}`
or `{"ok": false, "description": ..}` with status 400 (bad use) or 404.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .faults import ChatFault
from .models import EmulatorError, MessageRecord
from .params import decode_json_object
from .photos import PhotoRefusal

if TYPE_CHECKING:
    from .emulator import Emulator

PREFIX = "/_emulator"
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _fail(description: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "description": description}, status=status)


def message_json(message: MessageRecord) -> dict[str, Any]:
    data = message.to_api()
    data["seq"] = message.seq
    data["from_bot"] = message.from_bot
    return data


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    return decode_json_object(await request.text())


def _int(value: str | None) -> int | None:
    return None if value in (None, "") else int(value)


def _safe(route: Route) -> Route:
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await route(request)
        except (EmulatorError, KeyError, TypeError, ValueError) as exc:
            return _fail(f"{exc.__class__.__name__}: {exc}")
        except TimeoutError as exc:
            return _fail(str(exc), 408)

    return guarded


class ControlApi:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def routes(self) -> list[web.RouteDef]:
        p = PREFIX
        table: list[tuple[str, str, Route]] = [
            ("GET", "/health", self.health),
            ("GET", "/stats", self.stats),
            ("POST", "/reset_counters", self.reset_counters),
            ("GET", "/config", self.get_config),
            ("PUT", "/config", self.put_config),
            ("POST", "/users", self.add_user),
            ("POST", "/chats", self.add_chat),
            ("POST", "/chats/{chat_id}/topics", self.add_topic),
            ("POST", "/chats/{chat_id}/admins", self.set_admin),
            ("POST", "/chats/{chat_id}/migrate", self.migrate),
            ("POST", "/chats/{chat_id}/bot_membership", self.bot_membership),
            ("GET", "/chats/{chat_id}/messages", self.chat_messages),
            ("POST", "/chats/{chat_id}/faults", self.add_fault),
            ("DELETE", "/chats/{chat_id}/faults", self.clear_faults),
            ("POST", "/messages", self.user_message),
            ("POST", "/documents", self.user_document),
            ("POST", "/callbacks", self.press_button),
            ("GET", "/callbacks/{query_id}", self.callback_answer),
            ("POST", "/inline_queries", self.inline_query),
            ("GET", "/inline_queries/{query_id}", self.inline_answer),
            ("POST", "/channel_posts", self.channel_post),
            ("GET", "/requests", self.requests),
            ("GET", "/protocol_errors", self.protocol_errors),
            ("GET", "/files/{file_id}", self.file),
            ("GET", "/wait/bot_message", self.wait_bot_message),
            ("PUT", "/feeds/{name}", self.publish_feed),
            ("POST", "/photo_urls", self.photo_url_rule),
            ("DELETE", "/photo_urls", self.clear_photo_urls),
        ]
        return [web.route(method, p + path, _safe(route)) for method, path, route in table]

    async def health(self, request: web.Request) -> web.Response:
        emulator = self.emulator
        return _ok(
            {
                "bot": emulator.bot.to_api(),
                "base_url": emulator.base_url,
                "base_file_url": emulator.base_file_url,
            }
        )

    async def stats(self, request: web.Request) -> web.Response:
        return _ok(self.emulator.stats().to_json())

    async def reset_counters(self, request: web.Request) -> web.Response:
        self.emulator.reset_counters()
        return _ok(True)

    async def get_config(self, request: web.Request) -> web.Response:
        plan = dataclasses.asdict(self.emulator.fault_plan)
        plan["methods"] = sorted(plan["methods"]) if plan["methods"] is not None else None
        return _ok(
            {
                "enforce_limits": self.emulator.enforce_limits,
                "limits": dataclasses.asdict(self.emulator.limits),
                "faults": plan,
            }
        )

    async def put_config(self, request: web.Request) -> web.Response:
        """Change the named fields of the limits and the fault plan; others keep their values."""
        body = await _body(request)
        emulator = self.emulator
        if "limits" in body:
            emulator.limits = dataclasses.replace(emulator.limits, **body["limits"])
        if "enforce_limits" in body:
            emulator.enforce_limits = bool(body["enforce_limits"])
        if "faults" in body:
            plan = dict(body["faults"])
            if plan.get("methods") is not None:
                plan["methods"] = frozenset(m.lower() for m in plan["methods"])
            if "retry_after" in plan:
                plan["retry_after"] = tuple(plan["retry_after"])
            emulator.fault_plan = dataclasses.replace(emulator.fault_plan, **plan)
        return await self.get_config(request)

    async def add_user(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user = self.emulator.add_user(
            body.get("first_name", "Test"),
            user_id=body.get("user_id"),
            username=body.get("username"),
            last_name=body.get("last_name"),
            language_code=body.get("language_code", "en"),
            started=body.get("started", True),
        )
        return _ok(user.to_api())

    async def add_chat(self, request: web.Request) -> web.Response:
        body = await _body(request)
        kind = body.get("type")
        common: dict[str, Any] = {
            "chat_id": body.get("chat_id"),
            "admins": body.get("admins", []),
            "owner_id": body.get("owner_id"),
        }
        if "bot_status" in body:
            common["bot_status"] = body["bot_status"]
        emulator = self.emulator
        title = body["title"]
        members = body.get("members", [])
        if kind == "group":
            chat = emulator.add_group(title, members=members, **common)
        elif kind == "supergroup":
            chat = emulator.add_supergroup(
                title,
                forum=bool(body.get("forum")),
                username=body.get("username"),
                members=members,
                **common,
            )
        elif kind == "channel":
            chat = emulator.add_channel(
                title, username=body.get("username"), members=members, **common
            )
        else:
            raise EmulatorError("type must be group, supergroup or channel")
        return _ok(chat.to_api())

    async def add_topic(self, request: web.Request) -> web.Response:
        body = await _body(request)
        thread_id = self.emulator.add_topic(
            int(request.match_info["chat_id"]), body["name"], by_user_id=body.get("by_user_id")
        )
        return _ok({"message_thread_id": thread_id})

    async def set_admin(self, request: web.Request) -> web.Response:
        body = await _body(request)
        self.emulator.set_admin(
            int(request.match_info["chat_id"]), body["user_id"], body.get("is_admin", True)
        )
        return _ok(True)

    async def migrate(self, request: web.Request) -> web.Response:
        body = await _body(request)
        new_id = self.emulator.migrate_to_supergroup(
            int(request.match_info["chat_id"]), by_user_id=body.get("by_user_id")
        )
        return _ok({"chat_id": new_id})

    async def bot_membership(self, request: web.Request) -> web.Response:
        body = await _body(request)
        update = self.emulator.bot_membership_changed(
            int(request.match_info["chat_id"]), body["by_user_id"], body["status"]
        )
        return _ok(update)

    async def chat_messages(self, request: web.Request) -> web.Response:
        query = request.query
        chat_id = int(request.match_info["chat_id"])
        thread_id = _int(query.get("thread_id"))
        since = _int(query.get("since_seq")) or 0
        found = self.emulator.messages(chat_id, thread_id=thread_id)
        if query.get("from_bot") in ("1", "true"):
            found = [m for m in found if m.from_bot]
        return _ok([message_json(m) for m in found if m.seq > since])

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _body(request)
        chat_id = int(request.match_info["chat_id"])
        if "thread_id" in body:
            self.emulator.inject_thread_fault(chat_id, int(body["thread_id"]))
        else:
            self.emulator.inject_chat_fault(chat_id, ChatFault(body["fault"]))
        return _ok(True)

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.emulator.clear_faults(int(request.match_info["chat_id"]))
        return _ok(True)

    async def user_message(self, request: web.Request) -> web.Response:
        body = await _body(request)
        update = self.emulator.send_user_message(
            body["chat_id"],
            body["user_id"],
            body["text"],
            thread_id=body.get("thread_id"),
            reply_to=body.get("reply_to"),
        )
        return _ok(update)

    async def user_document(self, request: web.Request) -> web.Response:
        body = await _body(request)
        update = self.emulator.send_user_document(
            body["chat_id"],
            body["user_id"],
            base64.b64decode(body["content_base64"]),
            body["file_name"],
            mime_type=body.get("mime_type", "application/octet-stream"),
            caption=body.get("caption"),
            thread_id=body.get("thread_id"),
        )
        return _ok(update)

    async def press_button(self, request: web.Request) -> web.Response:
        body = await _body(request)
        index = body.get("index")
        query_id = self.emulator.press_button(
            body["chat_id"],
            body["message_id"],
            body.get("callback_data"),
            index=tuple(index) if isinstance(index, list) else index,
            text=body.get("text"),
            user_id=body.get("user_id"),
            forged_data=body.get("forged_data"),
        )
        return _ok({"callback_query_id": query_id})

    async def callback_answer(self, request: web.Request) -> web.Response:
        query = self.emulator.callback_answer(request.match_info["query_id"])
        return _ok(dataclasses.asdict(query))

    async def inline_query(self, request: web.Request) -> web.Response:
        body = await _body(request)
        query_id = self.emulator.inline_query(
            body["user_id"], body.get("query", ""), offset=body.get("offset", "")
        )
        return _ok({"inline_query_id": query_id})

    async def inline_answer(self, request: web.Request) -> web.Response:
        query = self.emulator.inline_answer(request.match_info["query_id"])
        return _ok(dataclasses.asdict(query))

    async def channel_post(self, request: web.Request) -> web.Response:
        body = await _body(request)
        return _ok(self.emulator.channel_post(body["chat_id"], body["text"]))

    async def requests(self, request: web.Request) -> web.Response:
        since = _int(request.query.get("since")) or 0
        method = (request.query.get("method") or "").lower()
        found = [
            r.to_json()
            for r in self.emulator.requests
            if r.seq > since and (not method or r.method.lower() == method)
        ]
        return _ok(found)

    async def protocol_errors(self, request: web.Request) -> web.Response:
        return _ok([dataclasses.asdict(e) for e in self.emulator.protocol_errors])

    async def file(self, request: web.Request) -> web.StreamResponse:
        record = self.emulator.file(request.match_info["file_id"])
        if record is None:
            return _fail("no such file", 404)
        return web.Response(
            body=record.data, content_type=record.mime_type or "application/octet-stream"
        )

    async def wait_bot_message(self, request: web.Request) -> web.Response:
        """Long-poll for the next bot message in a chat after sequence number `after_seq`."""
        query = request.query
        message = await self.emulator.wait_for_bot_message(
            int(query["chat_id"]),
            since=_int(query.get("after_seq")) or 0,
            timeout=float(query.get("timeout", "5")),
        )
        return _ok(message_json(message))

    async def publish_feed(self, request: web.Request) -> web.Response:
        """Serve `body` (text) at the feed URL of `name`; answers that URL."""
        body = await _body(request)
        name = request.match_info["name"]
        self.emulator.feeds.publish(name, str(body["body"]))
        return _ok({"url": self.emulator.feed_url(name)})

    async def photo_url_rule(self, request: web.Request) -> web.Response:
        """`{"url": .., "prefix": false, "refusal": "unreachable"}`; a refusal of
        null accepts the URL even where the default would refuse it."""
        body = await _body(request)
        urls = self.emulator.photo_urls
        prefix = bool(body.get("prefix", False))
        refusal = body.get("refusal", PhotoRefusal.UNREACHABLE.value)
        if refusal is None:
            urls.accept(str(body["url"]), prefix=prefix)
        else:
            urls.refuse(str(body["url"]), PhotoRefusal(refusal), prefix=prefix)
        return _ok(True)

    async def clear_photo_urls(self, request: web.Request) -> web.Response:
        self.emulator.photo_urls.clear()
        return _ok(True)


def add_control_routes(app: web.Application, emulator: Emulator) -> None:
    app.router.add_routes(ControlApi(emulator).routes())
