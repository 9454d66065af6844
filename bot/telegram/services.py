"""The services object in `application.bot_data`, where handlers and jobs find it
(the object itself is shared below the adapter: `bot.services`)."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ContextTypes

from bot.services import Services

SERVICES_KEY = "services"


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found: Services = context.bot_data[SERVICES_KEY]
    return found


def attach(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    application.bot_data[SERVICES_KEY] = services
