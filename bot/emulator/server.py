"""The HTTP face of the emulator: Bot API routing, parameter decoding, answers.

`/bot<token>/<method>` (GET or POST, any letter case for the method) and
`/file/bot<token>/<file_path>` mirror api.telegram.org. Each call is logged in
the journal and wakes everyone waiting in `Emulator.wait_for`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from aiohttp import web

from . import api_bot, api_chats, api_files, api_messages, api_queries, api_updates
from .core import Core
from .dispatch import METHODS, Delivery, Method
from .errors import ApiError, ErrorKind, not_found, unauthorized
from .feeds import add_feed_routes
from .journal import RequestRecord
from .params import Params, Upload, decode_json_object

log = logging.getLogger(__name__)

HANDLER_MODULES = (api_bot, api_chats, api_files, api_messages, api_queries, api_updates)
MAX_UPLOAD_BYTES = 52 * 1024 * 1024


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


async def read_params(request: web.Request) -> Params:
    """Query string plus an urlencoded, multipart or JSON body."""
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            raw.update(decode_json_object(await request.text()))
        else:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[name] = Upload(
                        name, value.filename, value.content_type, value.file.read()
                    )
                else:
                    raw[name] = value
    return Params(raw, uploads)


class BotApi:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def handle(self, request: web.Request) -> web.Response:
        core = self.core
        started = time.perf_counter()
        name = request.match_info["method"]
        params = Params({})
        result: Any = None
        error: ApiError | None = None
        try:
            if request.match_info["token"] != core.token:
                raise unauthorized()
            params = await read_params(request)
            method = METHODS.get(name.lower())
            if method is None:
                raise not_found()
            name = method.name
            result = await self.call(method, params)
        except ApiError as exc:
            error = exc
        except (web.HTTPException, ConnectionError):
            raise
        except Exception as exc:
            log.exception("emulator failed on %s", name)
            error = ApiError(500, f"Internal Server Error: {exc!r}", kind=ErrorKind.INTERNAL)
        if error is None:
            response = _json_response({"ok": True, "result": result})
        else:
            response = _json_response(error.payload(), error.status)
        core.journal.record(
            RequestRecord(
                seq=core.journal.total + 1,
                at=time.time(),
                method=name,
                params=params.raw,
                files={k: u.file_name for k, u in params.uploads.items()},
                status=response.status,
                description=error.description if error else None,
                kind=error.kind if error else None,
                fault=error.fault if error else None,
                detail=error.detail if error else None,
                duration=time.perf_counter() - started,
                result=result,
            )
        )
        await core.notify()
        return response

    async def call(self, method: Method, params: Params) -> Any:
        core = self.core
        outcome = await method.handler(core, params)
        delivery = outcome if isinstance(outcome, Delivery) else None
        # Methods without the parameter ignore it, as Telegram ignores unknown ones.
        paid = method.paid_broadcast and params.flag("allow_paid_broadcast")
        if delivery is not None:
            core.check_access(delivery)
        faults = core.faults
        if faults.in_scope(method.name.lower(), method.sends):
            draw = faults.draw()
            if draw.delay:
                await core.pause(draw.delay)
            if draw.error is not None:
                raise draw.error
        if delivery is None:
            return outcome
        core.admit(method, delivery.chat, paid=paid)
        result = delivery.commit()
        if paid:
            core.journal.paid_messages += 1
        return result

    async def download(self, request: web.Request) -> web.StreamResponse:
        core = self.core
        if request.match_info["token"] != core.token:
            return _json_response(unauthorized().payload(), 401)
        file = core.files.by_path(request.match_info["path"])
        if file is None:
            return _json_response(not_found().payload(), 404)
        return web.Response(
            body=file.data, content_type=file.mime_type or "application/octet-stream"
        )


def build_app(core: Core) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    api = BotApi(core)
    app.router.add_route("*", "/bot{token}/{method}", api.handle)
    app.router.add_get("/file/bot{token}/{path:.+}", api.download)
    add_feed_routes(app, core.feeds)
    return app
