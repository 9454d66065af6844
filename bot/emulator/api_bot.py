"""Methods about the bot itself: identity, session and command menus."""

from __future__ import annotations

from typing import Any

from . import checks
from .core import Core
from .dispatch import api_method
from .errors import chat_not_found
from .params import Params


@api_method("getMe")
async def get_me(core: Core, params: Params) -> dict[str, Any]:
    data = core.bot.to_api()
    data.update(
        {
            "can_join_groups": True,
            "can_read_all_group_messages": not core.privacy_mode,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
    )
    return data


@api_method("logOut")
async def log_out(core: Core, params: Params) -> bool:
    return True


@api_method("close")
async def close(core: Core, params: Params) -> bool:
    return True


def scope_key(core: Core, params: Params) -> tuple[str, str]:
    """Commands are stored per (scope, language) exactly, with no fallback, like Telegram."""
    scope = checks.check_scope(params.optional_json("scope"))
    language = checks.check_language_code(params.optional_string("language_code"))
    kind = scope["type"]
    if kind not in ("chat", "chat_administrators", "chat_member"):
        return kind, language
    chat = core.world.resolve(scope["chat_id"])
    if chat is None:
        raise chat_not_found()
    if kind == "chat_member":
        return f"chat_member:{chat.id}:{scope['user_id']}", language
    return f"{kind}:{chat.id}", language


@api_method("setMyCommands")
async def set_my_commands(core: Core, params: Params) -> bool:
    commands = checks.check_commands(params.optional_json("commands"))
    key = scope_key(core, params)
    if commands:
        core.commands[key] = commands
    else:
        core.commands.pop(key, None)
    return True


@api_method("getMyCommands")
async def get_my_commands(core: Core, params: Params) -> list[dict[str, str]]:
    return list(core.commands.get(scope_key(core, params), []))


@api_method("deleteMyCommands")
async def delete_my_commands(core: Core, params: Params) -> bool:
    core.commands.pop(scope_key(core, params), None)
    return True
