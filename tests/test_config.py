from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings, env_example, settings_table

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_setting() -> None:
    assert (ROOT / ".env.example").read_text("utf-8") == env_example()


def test_readme_configuration_table_matches_the_settings() -> None:
    assert settings_table() in (ROOT / "README.md").read_text("utf-8")


def test_admin_ids_from_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "12, 34;56")
    assert Settings(_env_file=None).admin_ids == [12, 34, 56]  # type: ignore[call-arg]


def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="timezone"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_webhook_requires_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/hook")
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        Settings(_env_file=None)  # type: ignore[call-arg]
