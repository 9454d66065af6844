"""The table of Bot API methods and the contract their handlers follow.

A handler validates its parameters (raising protocol errors) and either
returns the answer, or returns a `Delivery` when the call changes a chat. The
server then runs the gate for the delivery (per-chat faults, the bot's rights
in the chat, random faults, flood limits) and only then calls `commit`, so a
refused call never changes anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .models import ChatRecord
from .params import Params

if TYPE_CHECKING:
    from .core import Core

Handler = Callable[["Core", Params], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Delivery:
    chat: ChatRecord
    commit: Callable[[], Any]
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    handler: Handler
    sends: bool
    """Sends a message: counts against flood limits and draws random faults."""
    paid_broadcast: bool = False
    """Takes `allow_paid_broadcast`: the message may go on the paid budget, for a fee."""


METHODS: dict[str, Method] = {}


def api_method(
    name: str, *, sends: bool = False, paid_broadcast: bool = False
) -> Callable[[Handler], Handler]:
    """Register a handler under its Bot API name; lookups ignore case like Telegram."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = Method(name, handler, sends, paid_broadcast)
        return handler

    return register
