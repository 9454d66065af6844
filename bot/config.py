"""One typed settings object, read from the environment and `.env`.

Every setting is documented here once; `.env.example` and the README's
configuration table are generated from (and tested against) this class.
"""

from __future__ import annotations

import ipaddress
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.languages import LANGUAGES
from bot.store.db import Location, StoreError, locate

CHECKOUT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").is_file()


def _bundled_data() -> Path:
    """The data the package ships: the topic catalogue, the feed list, the sample.

    `data/` of a source checkout; an installed wheel carries the same files as
    package data (`bot/data` links to `data/`, so the build copies them in).
    Settings name files, so it must be a folder on disk.
    """
    if IN_CHECKOUT:
        return CHECKOUT / "data"
    folder = resources.files("bot") / "data"
    if not isinstance(folder, Path):
        raise RuntimeError("the bot runs from files on disk, not from a zip archive")
    return folder


DATA_DIR = _bundled_data()
# A source checkout keeps its database in `data/` beside the package, where
# `make run` has always put it; an installed bot keeps it in `data/` of the
# directory it runs in, which is also where it reads `.env`.
STATE_DIR = CHECKOUT / "data" if IN_CHECKOUT else Path("data")
# Telegram only pushes to HTTPS; plain HTTP is allowed for a local Bot API server.
LOCAL_WEBHOOKS = ("http://127.0.0.1:", "http://localhost:")
# Telegram's rule for secret_token is 1-256 characters of A-Z a-z 0-9 _ -; the secret is all
# that stands between the public webhook URL and forged updates, so we also want it unguessable.
WEBHOOK_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
WEBHOOK_SECRET_LENGTHS = range(32, 257)


class Settings(BaseSettings):
    # Errors never repeat the offending value: it may be the token or the webhook secret.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    bot_token: SecretStr | None = Field(
        default=None,
        description="Token from @BotFather. Without it, `make run` opens the local chat mode.",
    )
    telegram_base_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API endpoint; point it at a self-hosted Bot API server or the emulator.",
    )
    database_path: Path = Field(
        default=STATE_DIR / "bot.sqlite3", description="The SQLite database file."
    )
    database_url: str | None = Field(
        default=None,
        description="postgresql://user:password@host:5432/database to share one store between"
        " replicas (README, Scaling out); unset, the SQLite file at DATABASE_PATH.",
    )
    seed_listing_path: Path = Field(
        default=DATA_DIR / "articles.txt",
        description="Listing loaded into an empty database so a new install has content.",
    )
    topics_path: Path = Field(
        default=DATA_DIR / "topics.toml", description="The bilingual topic catalogue."
    )
    feeds_path: Path = Field(
        default=DATA_DIR / "feeds.toml", description="Feeds polled on start (admins can add more)."
    )
    admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Telegram user ids allowed to use admin commands.",
    )
    default_timezone: str = Field(
        default="UTC", description="IANA timezone given to new chats (e.g. America/Mexico_City)."
    )
    default_language: str = Field(
        default="en", description="Interface language when Telegram tells none (en or es)."
    )
    digest_max_items: int = Field(
        default=10, ge=1, le=50, description="Articles listed in one digest before 'and N more'."
    )
    read_max_parts: int = Field(
        default=10,
        ge=1,
        le=50,
        description="Messages the 📖 Read button sends at most for one article; a longer"
        " text ends with a link to the rest.",
    )
    digest_max_age_days: int = Field(
        default=7,
        ge=1,
        le=36_500,
        description="Articles published more than this many days before they were fetched"
        " (a feed's back catalogue) are searchable but never in digests.",
    )
    pairing_window_days: int = Field(
        default=3,
        ge=0,
        le=30,
        description="An article is paired with its translation from the text alone only within"
        " this many days of it (an undated one counts at its fetch time); 0 turns text pairing"
        " off (the sources' explicit links still pair).",
    )
    feed_poll_minutes: int = Field(
        default=15, ge=1, description="How often each feed is polled (a feed may override it)."
    )
    feed_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Total time allowed to fetch one feed."
    )
    feed_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest feed body accepted, in bytes."
    )
    feed_concurrency: int = Field(default=4, ge=1, description="Feeds fetched at the same time.")
    search_time_budget_ms: int = Field(
        default=150,
        ge=0,
        le=60_000,
        description="Longest a reader's search (/search, plain text, inline) may keep the "
        "database busy; past it the search stops and the reader is asked to add a word.",
    )
    feed_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated hosts, IPs or CIDR ranges on a private network that feeds "
        "may be fetched from (all other private addresses are refused).",
    )
    send_rate_per_second: float = Field(
        default=30.0,
        gt=0,
        le=1000,
        description="Messages per second over all chats (Telegram allows 30/s; the limiter "
        "also keeps any one second, as Telegram counts arrivals, at this many).",
    )
    paid_broadcast_rate: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="Messages per second of a paid broadcast (allow_paid_broadcast, 0.1 Star "
        "each; Telegram allows up to 1,000/s once enabled in @BotFather); 0 turns the option off.",
    )
    outbox_retention_days: int = Field(
        default=30,
        ge=8,
        description="Days sent messages stay in the outbox before a daily job deletes them "
        "(/stats keeps its daily counts); at least 8.",
    )
    audit_retention_days: int = Field(
        default=365, ge=1, description="Days admin actions stay in the audit log."
    )
    webhook_url: str | None = Field(
        default=None, description="Public HTTPS URL for webhook mode; polling when unset."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token."
    )
    webhook_listen: str = Field(
        default="127.0.0.1", description="Address the webhook server binds."
    )
    webhook_port: int = Field(default=8443, description="Port the webhook server binds.")
    log_level: str = Field(default="INFO", description="Python logging level.")
    metrics_address: str | None = Field(
        default=None,
        description="host:port of the operations server (/metrics for Prometheus, /healthz and "
        "/readyz for a supervisor), e.g. 127.0.0.1:9464; empty turns it off.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines as text for a terminal, or json: one JSON object a line "
        "(time, level, logger, message, exception, structured fields) for a log collector.",
    )

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("feed_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("feed_allowed_hosts")
    @classmethod
    def _valid_hosts(cls, value: list[str]) -> list[str]:
        return [_allowed_host(entry) for entry in value]

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"default_language must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("metrics_address")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        """Empty means off; otherwise `host:port` (`[::1]:9464` for IPv6), checked at start-up."""
        if not value or not value.strip():
            return None
        address_parts(value.strip())
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _strong_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """Empty means unset (`.env.example` has `WEBHOOK_SECRET=`); the value is never echoed."""
        secret = value.get_secret_value() if value is not None else ""
        if not secret:
            return None
        if not set(secret) <= WEBHOOK_SECRET_CHARS:
            raise ValueError(
                "WEBHOOK_SECRET may only hold A-Z, a-z, 0-9, _ and - (Telegram's rule)"
            )
        if len(secret) not in WEBHOOK_SECRET_LENGTHS:
            raise ValueError(
                "WEBHOOK_SECRET must be 32 to 256 characters long; make one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str | None) -> str | None:
        if value:
            try:
                locate(value)
            except StoreError as exc:
                raise ValueError(str(exc)) from None
        return value or None

    @property
    def database(self) -> Location:
        """Where the store is: DATABASE_URL's server, or the SQLite file at DATABASE_PATH."""
        if self.database_url:
            return locate(self.database_url)
        return Location("sqlite", path=self.database_path)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
        if self.webhook_url and not self.webhook_url.startswith((*LOCAL_WEBHOOKS, "https://")):
            raise ValueError("WEBHOOK_URL must be an https:// URL")
        return self


def address_parts(address: str) -> tuple[str, int]:
    """`host:port` (or `[v6 address]:port`) as the host and the port it names; a
    ValueError that says what is wrong otherwise."""
    try:
        parts = urlsplit("//" + address)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"{address!r} is not host:port ({exc})") from exc
    extra = parts.path or parts.query or parts.fragment or parts.username is not None
    if not host or port is None or port == 0 or extra:
        raise ValueError(f"{address!r} is not host:port, e.g. 127.0.0.1:9464")
    return host, port


# Labels of letters, digits, '-' and '_' (container names on a private network use it).
_HOST_NAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*")


def _allowed_host(entry: str) -> str:
    """One FEED_ALLOWED_HOSTS entry in a canonical form: a CIDR range (an address
    is a range of one) or a lower-case ASCII host name; anything else is refused
    at start-up rather than silently allowing nothing."""
    text = entry.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        pass
    else:
        single = network.prefixlen == network.max_prefixlen
        return str(network.network_address) if single else str(network)
    try:
        name = text.encode("idna").decode("ascii")
    except UnicodeError:
        name = ""
    if not _HOST_NAME.fullmatch(name):
        raise ValueError(
            f"FEED_ALLOWED_HOSTS: {entry!r} is not a host name, an IP address or a CIDR range "
            "(no scheme, no port)"
        )
    return name


def _default_text(name: str) -> str:
    field = Settings.model_fields[name]
    default = field.get_default(call_default_factory=True)
    if default is None:
        return ""
    if isinstance(default, Path):
        try:
            return str(default.relative_to(CHECKOUT))
        except ValueError:
            return str(default)
    if isinstance(default, list):
        return ",".join(str(item) for item in default)
    return str(default)


def env_example() -> str:
    """The text of `.env.example`: every setting with its comment and default."""
    lines = [
        "# Copy to .env and fill in. Every setting can also be an environment variable.",
        "# Generated from bot/config.py (a test keeps the two in step).",
        "",
    ]
    for name, field in Settings.model_fields.items():
        lines.append(f"# {field.description}")
        lines.append(f"{name.upper()}={_default_text(name)}")
        lines.append("")
    return "\n".join(lines)


def settings_table() -> str:
    """The README's configuration table, in Markdown."""
    rows = ["| Setting | Default | What it does |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = _default_text(name)
        rows.append(
            f"| `{name.upper()}` | {f'`{default}`' if default else '—'} | {field.description} |"
        )
    return "\n".join(rows)
