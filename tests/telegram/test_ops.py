"""The operations server on METRICS_ADDRESS, asked over HTTP as a supervisor and
Prometheus would, while the real bot runs on the emulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.chat import bot_on_emulator
from bot.config import Settings
from bot.emulator import Emulator
from bot.emulator.faults import FaultPlan
from bot.runtime import open_content
from bot.services import Services
from bot.store import outbox
from bot.store.outbox import NewMessage
from bot.telegram.app import App
from bot.telegram.ops import SENDER_STUCK_SECONDS
from tests.harness import free_port, sender_of


@dataclass
class Ops:
    app: App
    services: Services
    emulator: Emulator
    http: aiohttp.ClientSession
    url: str

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(self.url + path) as response:
            body = await (response.json() if path != "/metrics" else response.text())
            return response.status, body


@pytest.fixture
async def ops(emulator: Emulator, settings: Settings) -> AsyncIterator[Ops]:
    address = f"127.0.0.1:{free_port()}"
    settings = settings.model_copy(update={"metrics_address": address})
    content = await open_content(settings)
    services = Services(settings, content.db, content.catalogue, run_jobs=False)
    try:
        async with (
            bot_on_emulator(emulator, settings, services=services) as app,
            aiohttp.ClientSession() as http,
        ):
            yield Ops(app, services, emulator, http, f"http://{address}")
    finally:
        await content.db.close()


async def test_a_running_bot_is_alive_and_ready(ops: Ops) -> None:
    assert await ops.get("/healthz") == (200, {"ok": True})
    status, body = await ops.get("/readyz")
    assert (status, body["ok"]) == (200, True), body
    assert body["checks"] == {
        "database": {"ok": True},
        "bot_api": {"ok": True},
        "sender": {"ok": True},
    }
    async with ops.http.get(ops.url + "/bot/getMe") as response:
        assert response.status == 404  # only the three routes


async def test_metrics_are_prometheus_text(ops: Ops) -> None:
    async with ops.http.get(ops.url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    families = list(text_string_to_metric_families(text))
    assert all(family.name for family in families)


async def test_the_bot_api_not_answering_makes_the_bot_unready_until_it_answers(
    ops: Ops,
) -> None:
    def answered() -> int:
        return sum(call.status == 200 for call in ops.emulator.calls("getMe"))

    asked = answered()
    ops.emulator.fault_plan = FaultPlan(rate_timeout=1.0, methods=frozenset({"getme"}))
    status, body = await ops.get("/readyz")
    assert status == 503
    assert body["checks"]["bot_api"]["ok"] is False
    assert "getMe" in body["checks"]["bot_api"]["error"]
    assert body["checks"]["database"] == body["checks"]["sender"] == {"ok": True}
    ops.emulator.fault_plan = FaultPlan()
    status, body = await ops.get("/readyz")
    assert (status, body["checks"]["bot_api"]) == (200, {"ok": True})
    # The probe asked Telegram again rather than trust the answer before the stall.
    assert answered() == asked + 1


async def test_a_sender_held_back_by_429s_makes_the_bot_unready_until_it_delivers(
    ops: Ops,
) -> None:
    reader = ops.emulator.add_user("Rin")
    # Every send is refused with a 429: the limiter holds the chat, and the messages,
    # queued long enough ago to be overdue, cannot leave.
    ops.emulator.fault_plan = FaultPlan(rate_429=1.0, retry_after=(1, 1))
    queued = time.time() - SENDER_STUCK_SECONDS - 100
    await outbox.enqueue(
        ops.services.db,
        [NewMessage.text(reader.id, text, kind="notice") for text in ("One", "Two")],
        now=queued,
    )
    ops.services.wake_sender()
    await ops.emulator.wait_for_request("sendMessage")
    status, body = await ops.get("/readyz")
    assert status == 503, body
    assert body["checks"]["sender"]["ok"] is False
    assert "due for" in body["checks"]["sender"]["error"]
    assert body["checks"]["bot_api"] == {"ok": True}

    ops.emulator.fault_plan = FaultPlan()
    await sender_of(ops.app).wait_empty()
    assert [m.text for m in ops.emulator.bot_messages(reader.id)] == ["One", "Two"]
    status, body = await ops.get("/readyz")
    assert (status, body["checks"]["sender"]) == (200, {"ok": True}), body
