"""The typed context every handler and job gets (PTB's `ContextTypes`).

`context.bot_data` is a `BotData`, not a dict with string keys: what the bot
shares between updates is named and typed here, once, and `context.services`
is the services object the lifespan started (bot/telegram/app.py).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.admin.progress import RateMeter
from bot.config import Settings
from bot.delivery.sender import OutboxSender
from bot.services import Services

MAX_SEARCH_KEYS = 10_000


class BotData:
    """What handlers and jobs share for as long as the Application lives.

    `search_keys`: queries too long for a button's data, by the key their
    button carries (bounded by `MAX_SEARCH_KEYS`; such buttons expire on restart).
    `rate_meter`: each broadcast's recent progress, to show its rate.
    """

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._services: Services | None = None
        self.closing: AsyncExitStack | None = None  # the lifespan, while PTB's hooks hold it
        self.search_keys: dict[str, str] = {}
        self.rate_meter = RateMeter()
        self.sender: OutboxSender | None = None  # while the lifespan runs one

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("the Application was not made by build_application")
        return self._settings

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the bot has not started: no services yet")
        return self._services

    @property
    def started(self) -> bool:
        return self._services is not None

    def configure(self, settings: Settings, services: Services | None) -> None:
        """What build_application knows: the settings, and the services when given
        (tests); otherwise the lifespan opens them."""
        self._settings = settings
        self._services = services

    def attach(self, services: Services | None) -> None:
        self._services = services

    def remember_query(self, key: str, query: str) -> None:
        """Keep `query` under `key`, dropping the oldest past the bound."""
        if key not in self.search_keys and len(self.search_keys) >= MAX_SEARCH_KEYS:
            self.search_keys.pop(next(iter(self.search_keys)))
        self.search_keys[key] = query


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """PTB's CallbackContext with the bot's shared data typed."""

    @property
    def services(self) -> Services:
        return self.bot_data.services


CONTEXT_TYPES = ContextTypes(context=Context, bot_data=BotData)

App = Application[Any, Context, Any, Any, BotData, Any]
