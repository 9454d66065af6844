"""How updates reach the bot: getUpdates long polling or a webhook."""

from __future__ import annotations

from typing import Any

from .core import Core
from .dispatch import api_method
from .errors import bad_request, conflict
from .params import Params
from .webhook import WebhookConfig, check_secret_token, check_webhook_url

WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)


@api_method("getUpdates")
async def get_updates(core: Core, params: Params) -> list[dict[str, Any]]:
    if core.webhook.active:
        raise conflict(WEBHOOK_ACTIVE)
    offset = params.optional_integer("offset")
    limit = min(max(params.optional_integer("limit") or 100, 1), 100)
    timeout = max(params.optional_number("timeout") or 0.0, 0.0)
    core.updates.set_allowed(params.optional_json("allowed_updates"))
    ticket = core.updates.begin_poll(offset)
    if timeout > 0:
        # Waiters in Emulator.wait_for see `polling` once this handler starts waiting.
        await core.notify()
    return await core.updates.poll(ticket, limit, timeout)


@api_method("setWebhook")
async def set_webhook(core: Core, params: Params) -> bool:
    url = params.optional_string("url")
    if url is None:
        await core.webhook.stop()
        return True
    config = WebhookConfig(url=check_webhook_url(url))
    config.secret_token = check_secret_token(params.optional_string("secret_token"))
    max_connections = params.optional_integer("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("invalid max_connections specified")
    config.max_connections = max_connections
    allowed = params.optional_json("allowed_updates")
    core.updates.set_allowed(allowed)
    config.allowed_updates = allowed
    if params.flag("drop_pending_updates"):
        core.updates.clear()
    core.updates.terminate_polls("terminated by setWebhook request")
    await core.webhook.start(config)
    return True


@api_method("deleteWebhook")
async def delete_webhook(core: Core, params: Params) -> bool:
    await core.webhook.stop()
    if params.flag("drop_pending_updates"):
        core.updates.clear()
    return True


@api_method("getWebhookInfo")
async def get_webhook_info(core: Core, params: Params) -> dict[str, Any]:
    config = core.webhook.config
    pending = len(core.updates)
    if config is None:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
    return config.info(pending)
