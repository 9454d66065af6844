"""The end-to-end tests run on both engines: the real bot on a SQLite file, and on a
PostgreSQL database of its own (DATABASE_URL, as an operator sets it, so a bot the
test starts in another process opens the same store)."""

from __future__ import annotations

import pytest

from bot.config import Settings


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(
    settings: Settings, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    if request.param == "sqlite":
        return settings
    monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_url"))
    return Settings(_env_file=None)  # type: ignore[call-arg]
