"""The Services object digest code runs with, on the suite's store and topics."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.services import Services
from bot.store.db import Database
from bot.topics import Catalogue


@pytest.fixture
def services(settings: Settings, db: Database, catalogue: Catalogue) -> Services:
    return Services(settings=settings, db=db, catalogue=catalogue)
