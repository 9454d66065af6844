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


@pytest.mark.parametrize(
    "secret",
    [
        "a" * 31,  # guessable: Telegram allows 1 character, we want at least 32
        "a" * 40 + "!",  # outside Telegram's A-Z a-z 0-9 _ -
        "with space " + "a" * 32,
        "a" * 257,  # Telegram's maximum is 256
    ],
)
def test_a_weak_or_malformed_webhook_secret_is_refused(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET") as raised:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert raised.value.errors()[0]["loc"] == ("webhook_secret",)
    assert secret not in str(raised.value)


@pytest.mark.parametrize("secret", ["a" * 32, "Az09_-" * 42 + "abcd"])
def test_a_strong_webhook_secret_is_accepted(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == secret


def test_an_empty_webhook_secret_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """`.env.example` copied as is has `WEBHOOK_SECRET=`: polling must still start."""
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    monkeypatch.setenv("WEBHOOK_SECRET", "")
    assert Settings(_env_file=None).webhook_secret is None  # type: ignore[call-arg]
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/hook")
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET is required"):
        Settings(_env_file=None)  # type: ignore[call-arg]
