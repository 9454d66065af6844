"""Shared fixtures: real SQLite files in temporary folders, the real seed data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import DATA_DIR, Settings
from bot.runtime import Content, open_content

SEED = DATA_DIR / "articles.txt"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings isolated from the developer's `.env` and environment."""
    for name in ("BOT_TOKEN", "ADMIN_IDS", "WEBHOOK_URL", "WEBHOOK_SECRET", "DEFAULT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def content(settings: Settings) -> AsyncIterator[Content]:
    opened = await open_content(settings)
    try:
        yield opened
    finally:
        await opened.db.close()
