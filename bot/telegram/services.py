"""What handlers and jobs share: one object in `application.bot_data`.

Handlers stay thin by reaching the store, catalogue and sender through this,
and tests can move time by replacing `clock`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, ContextTypes

from bot.config import Settings
from bot.digest.schedule import next_digest_at
from bot.ingest.topics import Catalogue
from bot.store import chats
from bot.store.chats import Target
from bot.store.db import Database

if TYPE_CHECKING:
    from bot.delivery.sender import OutboxSender

SERVICES_KEY = "services"


@dataclass
class Services:
    settings: Settings
    db: Database
    catalogue: Catalogue
    clock: Callable[[], float] = time.time
    sender: OutboxSender | None = None
    bot_username: str = ""
    owns_db: bool = False
    run_jobs: bool = True  # tests drive the jobs themselves, with their own clock
    extras: dict[str, Any] = field(default_factory=dict)

    def now(self) -> int:
        return int(self.clock())

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids

    def topic_names(self, language: str) -> dict[str, str]:
        return {topic.slug: topic.name(language) for topic in self.catalogue.topics}

    async def schedule(self, target: Target) -> Target:
        """Store when the target's next digest is due, after its settings changed."""
        due = next_digest_at(
            target.digest_mode,
            target.digest_minute,
            target.digest_weekday,
            target.timezone,
            after=self.now(),
        )
        if due == target.next_digest_at:
            return target
        return await chats.update_target(self.db, target.id, next_digest_at=due)

    def wake_sender(self) -> None:
        if self.sender is not None:
            self.sender.wake()


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found: Services = context.bot_data[SERVICES_KEY]
    return found


def attach(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    application.bot_data[SERVICES_KEY] = services
