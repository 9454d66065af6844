"""A real database and the Services object digest code runs with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.telegram.services import Services
from tests.digest.helpers import CATALOGUE, open_db


@pytest.fixture
async def services(tmp_path: Path, settings: Settings) -> AsyncIterator[Services]:
    db = await open_db(tmp_path / "digest.sqlite3")
    try:
        yield Services(settings=settings, db=db, catalogue=CATALOGUE)
    finally:
        await db.close()
