"""Methods that describe chats and their members."""

from __future__ import annotations

from typing import Any

from .core import Core
from .dispatch import api_method
from .errors import bad_request
from .models import ChatType, chat_member_api
from .params import Params


@api_method("getChat")
async def get_chat(core: Core, params: Params) -> dict[str, Any]:
    return core.chat_param(params).full_info()


@api_method("getChatMember")
async def get_chat_member(core: Core, params: Params) -> dict[str, Any]:
    chat = core.chat_param(params)
    user = core.world.users.get(params.integer("user_id"))
    if user is None:
        raise bad_request("user not found")
    return chat_member_api(user, core.world.member_status(chat, user.id))


@api_method("getChatAdministrators")
async def get_chat_administrators(core: Core, params: Params) -> list[dict[str, Any]]:
    chat = core.chat_param(params)
    if chat.type is ChatType.PRIVATE:
        raise bad_request("there are no administrators in the private chat")
    world = core.world
    ids = [*([chat.owner_id] if chat.owner_id else []), *sorted(chat.admins)]
    if world.bot_is_admin(chat):
        ids.append(world.bot.id)
    return [chat_member_api(world.user(i), world.member_status(chat, i)) for i in ids]


@api_method("getChatMemberCount")
async def get_chat_member_count(core: Core, params: Params) -> int:
    chat = core.chat_param(params)
    if chat.type is ChatType.PRIVATE:
        return 2
    bot_counts = chat.bot_status in ("member", "administrator", "creator")
    return len(chat.members) + int(bot_counts)
