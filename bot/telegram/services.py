"""The services object, as handlers and jobs reach it: through their typed context
(the object itself is shared below the adapter: `bot.services`; the lifespan in
bot/telegram/app.py starts it)."""

from __future__ import annotations

from bot.services import Services
from bot.telegram.context import Context


def services_of(context: Context) -> Services:
    return context.bot_data.services
