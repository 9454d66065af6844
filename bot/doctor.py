"""`python -m bot doctor`: what stands between this configuration and a running bot.

Each check answers one question an operator asks when the bot misbehaves or
before it first starts: do the settings load, does Telegram accept the token,
is the webhook Telegram knows the one configured, can the database be read
and written and is it sound, do the feeds answer. Each finding is one line
with what to do about it. The checks change nothing: the database is only
read (`bot.store.checkup`), the Bot API is only asked (getMe, getWebhookInfo),
and each check has a short deadline of its own, so the doctor answers in
seconds even when the network does not.

The Bot API is asked with plain httpx rather than python-telegram-bot's `Bot`:
`Bot.initialize()` makes its own getMe and turns a 401 and a 404 into the same
InvalidToken, where the doctor wants the status and description Telegram gave,
each call under its own short timeout; and the domain stays free of the
Telegram library, as the rest of it is.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import httpx
from pydantic import ValidationError

from bot.config import Settings
from bot.errors import SourceError
from bot.ingest.fetch import fetch, make_client, parse_fetched
from bot.ingest.poller import read_feed_file
from bot.store.checkup import Checkup, checkup
from bot.store.db import StoreError, bundled_migrations

TELEGRAM_SECONDS: Final = 5.0
"""Each Bot API call's deadline: Telegram answers getMe in well under a second."""
DATABASE_SECONDS: Final = 10.0
"""How long `quick_check` may read; a larger database is checked only so far."""
FEED_SECONDS: Final = 10.0
"""Each feed's deadline (FEED_TIMEOUT_SECONDS when shorter)."""
FEEDS_SECONDS: Final = 60.0
"""All feeds together: past it, the feeds not yet answered are reported as such."""
FEED_CONCURRENCY: Final = 8
"""Feeds asked at once, at least: the doctor is run by a person waiting for it."""
MIN_FREE_BYTES: Final = 100 * 1024 * 1024
"""Free space below which the database's filesystem is reported; SQLite also
needs room for a copy of the database to VACUUM it, so the database's own size
raises the bar when larger."""
SHOWN_PER_CHECK: Final = 8
"""Problems of one check printed before "and N more": the report fits a screen."""


class Status(StrEnum):
    OK = "ok"
    PROBLEM = "problem"
    SKIPPED = "skipped"


MARKS: Final = {Status.OK: "✓", Status.PROBLEM: "✗", Status.SKIPPED: "–"}


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    advice: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "check": self.check,
            "status": self.status.value,
            "detail": self.detail,
            "advice": self.advice,
        }


@dataclass(frozen=True)
class Diagnosis:
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(finding.status is not Status.PROBLEM for finding in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [finding.to_json() for finding in self.findings]}

    def lines(self) -> list[str]:
        """The report for a terminal: one line a finding, the problems of a check
        past `SHOWN_PER_CHECK` counted rather than listed."""
        width = max((len(finding.check) for finding in self.findings), default=0)
        shown: dict[str, int] = {}
        hidden: dict[str, int] = {}
        out = []
        for finding in self.findings:
            if finding.status is Status.PROBLEM:
                shown[finding.check] = shown.get(finding.check, 0) + 1
                if shown[finding.check] > SHOWN_PER_CHECK:
                    hidden[finding.check] = hidden.get(finding.check, 0) + 1
                    continue
            line = f"{MARKS[finding.status]} {finding.check:<{width}}  {finding.detail}"
            out.append(line + (f" → {finding.advice}" if finding.advice else ""))
        for check, count in hidden.items():
            out.append(f"  {check:<{width}}  … and {count} more (see --json)")
        problems = sum(1 for finding in self.findings if finding.status is Status.PROBLEM)
        out.append("All checks passed." if not problems else f"{problems} problem(s) found.")
        return out


async def diagnose(load: Callable[[], Settings]) -> Diagnosis:
    """Every check; `load` reads the settings (`Settings`, or a test's own)."""
    settings, findings = check_settings(load)
    if settings is None:
        after = "fix the settings first"
        findings += [Finding(name, Status.SKIPPED, after) for name in ("telegram", "database")]
        findings.append(Finding("feeds", Status.SKIPPED, after))
        return Diagnosis(tuple(findings))
    telegram, (database, urls) = await asyncio.gather(
        check_telegram(settings), check_database(settings)
    )
    feeds = await check_feeds(settings, urls)
    return Diagnosis(tuple(findings + telegram + database + feeds))


def check_settings(load: Callable[[], Settings]) -> tuple[Settings | None, list[Finding]]:
    """The settings, or one finding per setting that is missing or malformed."""
    try:
        settings = load()
    except ValidationError as exc:
        return None, [
            Finding(
                "settings",
                Status.PROBLEM,
                line,
                "fix it in .env or the environment (.env.example explains each setting)",
            )
            for line in setting_errors(exc)
        ]
    return settings, [Finding("settings", Status.OK, "loaded from the environment and .env")]


def setting_errors(exc: ValidationError) -> list[str]:
    """One line per setting pydantic refused, naming it as the environment does
    (a setting may fail several ways, e.g. each member of a union: the first says enough)."""
    lines: dict[str, str] = {}
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"] if isinstance(part, str)).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        key = name or message
        if key not in lines:
            lines[key] = f"{name}: {message}" if name else message
    return list(lines.values())


# -- Telegram -------------------------------------------------------------------------


async def check_telegram(settings: Settings, *, timeout: float = TELEGRAM_SECONDS) -> list[Finding]:  # noqa: ASYNC109 - each call's deadline
    """getMe with the token, then getWebhookInfo against WEBHOOK_URL."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    if not token:
        return [
            Finding(
                "telegram",
                Status.PROBLEM,
                "BOT_TOKEN is not set (getMe skipped)",
                "get a token from @BotFather and set BOT_TOKEN; without one only "
                "the local chat mode runs",
            ),
            Finding("webhook", Status.SKIPPED, "needs BOT_TOKEN"),
        ]
    api = BotApi(settings.telegram_base_url, token)
    async with httpx.AsyncClient(timeout=timeout) as client:
        me = await api.call(client, "getMe")
        if me.problem is not None:
            return [me.problem, Finding("webhook", Status.SKIPPED, "needs a working getMe")]
        user = me.result if isinstance(me.result, dict) else {}
        found = Finding(
            "telegram",
            Status.OK,
            f"the token belongs to @{user.get('username', '?')} (id {user.get('id', '?')})",
        )
        info = await api.call(client, "getWebhookInfo")
    if info.problem is not None:
        return [found, Finding("webhook", Status.PROBLEM, info.problem.detail, info.problem.advice)]
    registered = str(info.result.get("url", "")) if isinstance(info.result, dict) else ""
    return [found, webhook_finding(settings.webhook_url or "", registered, info.result)]


def webhook_finding(configured: str, registered: str, info: object) -> Finding:
    """WEBHOOK_URL beside the URL Telegram pushes updates to."""
    if not configured and not registered:
        return Finding("webhook", Status.OK, "none registered; the bot polls (WEBHOOK_URL unset)")
    if configured == registered:
        error = info.get("last_error_message") if isinstance(info, dict) else None
        note = f"; Telegram's last push failed: {error}" if error else ""
        return Finding("webhook", Status.OK, f"Telegram pushes to WEBHOOK_URL{note}")
    if not configured:
        return Finding(
            "webhook",
            Status.PROBLEM,
            f"Telegram pushes updates to {registered}, but WEBHOOK_URL is unset",
            "set WEBHOOK_URL to it for webhook mode; in polling mode the bot removes it"
            " when it starts",
        )
    has = f"pushes to {registered}" if registered else "has no webhook"
    return Finding(
        "webhook",
        Status.PROBLEM,
        f"WEBHOOK_URL is {configured}, but Telegram {has}",
        "the bot registers WEBHOOK_URL when it starts: start it, or read its log if it runs",
    )


@dataclass(frozen=True)
class Answer:
    result: object = None
    problem: Finding | None = None


class BotApi:
    """Calls to the Bot API whose every failure is a finding that never shows the token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token
        where = httpx.URL(base_url)
        self.where = f"{where.scheme}://{where.netloc.decode('ascii')}"

    async def call(self, client: httpx.AsyncClient, method: str) -> Answer:
        try:
            response = await client.get(f"{self.base_url}{self.token}/{method}")
        except httpx.TimeoutException:
            return self._unreachable("no answer in time")
        except httpx.HTTPError as exc:
            return self._unreachable(_network_reason(exc))
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return self._problem(
                f"TELEGRAM_BASE_URL ({self.where}) answered {method} with HTTP"
                f" {response.status_code}, not a Bot API answer",
                "point TELEGRAM_BASE_URL at https://api.telegram.org/bot or your Bot API server",
            )
        if payload.get("ok") is True:
            return Answer(result=payload.get("result"))
        status = response.status_code
        described = self._safe(str(payload.get("description") or response.reason_phrase))
        if status == 401:
            return self._problem(
                f"BOT_TOKEN is wrong (Telegram answered 401 {described})",
                "copy the token again from @BotFather (/mybots → API Token) into BOT_TOKEN",
            )
        if status == 404 and method == "getMe":
            return self._problem(
                f"BOT_TOKEN is malformed, or TELEGRAM_BASE_URL is not a Bot API"
                f" (Telegram answered 404 {described})",
                "check BOT_TOKEN (digits, a colon, then the secret) and TELEGRAM_BASE_URL",
            )
        return self._problem(
            f"{method} failed: {status} {described}", "try again; if it persists, see the log"
        )

    def _unreachable(self, reason: str) -> Answer:
        return self._problem(
            f"cannot reach the Bot API at {self.where} (TELEGRAM_BASE_URL): {reason}",
            "check TELEGRAM_BASE_URL, the network, DNS and any firewall or proxy",
        )

    def _problem(self, detail: str, advice: str) -> Answer:
        return Answer(problem=Finding("telegram", Status.PROBLEM, self._safe(detail), advice))

    def _safe(self, text: str) -> str:
        return text.replace(self.token, "[REDACTED]")


def _network_reason(exc: httpx.HTTPError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "cannot connect (no route, DNS or TLS failure)"
    return f"the connection failed ({type(exc).__name__})"


# -- The database ---------------------------------------------------------------------


async def check_database(
    settings: Settings, *, seconds: float = DATABASE_SECONDS, min_free: int = MIN_FREE_BYTES
) -> tuple[list[Finding], tuple[str, ...]]:
    """The findings about the store (DATABASE_URL's server, else the file at
    DATABASE_PATH), and the feeds it lists for the bot to poll."""
    if settings.database.dialect == "postgresql":
        return await check_postgres(settings)
    path = settings.database_path
    findings = writable(path)
    if not path.exists():
        if not findings:
            findings.append(
                Finding("database", Status.OK, f"no database yet; the bot creates {path}")
            )
        return [*findings, space(path, min_free)], ()
    try:
        found = await asyncio.to_thread(checkup, path, seconds=seconds)
    except StoreError as exc:
        problem = Finding(
            "database",
            Status.PROBLEM,
            str(exc),
            "check the file's owner and permissions, or restore a backup",
        )
        return [*findings, problem, space(path, min_free)], ()
    return [*findings, *soundness(path, found), space(path, min_free)], found.feed_urls


async def check_postgres(settings: Settings) -> tuple[list[Finding], tuple[str, ...]]:
    """The server answers, is new enough, and holds this bot's schema (or none yet)."""
    from bot.store import postgres  # here: a SQLite bot never loads the driver

    where = settings.database
    try:
        server, schema, feeds = await asyncio.to_thread(postgres.checkup, where)
    except StoreError as exc:
        advice = "check DATABASE_URL, that the server runs, and that it lets this user in"
        return [Finding("database", Status.PROBLEM, str(exc), advice)], ()
    known = max((m.version for m in bundled_migrations("postgresql")), default=0)
    version = f"{server // 10000}.{server % 10000}"
    if server < postgres.MIN_SERVER_VERSION:
        detail = f"{where} runs PostgreSQL {version}; the bot needs 15 or newer"
        return [Finding("database", Status.PROBLEM, detail, "upgrade the server")], ()
    if schema > known:
        detail = f"{where} has schema version {schema}, newer than this program's {known}"
        return [Finding("database", Status.PROBLEM, detail, "upgrade the bot")], ()
    state = f"schema version {schema}" if schema else "empty; the bot creates its tables"
    return [Finding("database", Status.OK, f"{where}: PostgreSQL {version}, {state}")], feeds


def writable(path: Path) -> list[Finding]:
    """The database file, and its folder (where SQLite keeps its -wal and -shm
    files, and the bot creates the file), writable by this user."""
    findings = []
    for name in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))):
        if name.exists() and not os.access(name, os.W_OK):
            findings.append(
                Finding(
                    "database",
                    Status.PROBLEM,
                    f"{name} is read-only for this user",
                    f"give the bot's user write access (chown or chmod u+w {name})",
                )
            )
    folder = _existing(path.parent)
    if not os.access(folder, os.W_OK | os.X_OK):
        findings.append(
            Finding(
                "database",
                Status.PROBLEM,
                f"the folder {folder} is not writable by this user",
                "SQLite writes its -wal and -shm files beside the database: give the bot's"
                " user write access to the folder",
            )
        )
    return findings


def soundness(path: Path, found: Checkup) -> list[Finding]:
    known = max((migration.version for migration in bundled_migrations()), default=0)
    version = found.schema_version
    if version > known:
        return [
            Finding(
                "database",
                Status.PROBLEM,
                f"{path} has schema version {version}, newer than this program's {known}",
                "upgrade the bot, or restore a backup made for this version",
            )
        ]
    if version == 0 and found.tables:
        return [
            Finding(
                "database",
                Status.PROBLEM,
                f"{path} is a SQLite database, but not this bot's (no schema_migrations)",
                "point DATABASE_PATH at the bot's database",
            )
        ]
    if found.problems is None:
        check = f"quick_check stopped after {DATABASE_SECONDS:g} s (a large database)"
    elif found.problems:
        return [
            Finding(
                "database",
                Status.PROBLEM,
                f"quick_check found damage in {path}: {'; '.join(found.problems[:3])}",
                "stop the bot and restore the latest backup (python -m bot backup makes them)",
            )
        ]
    else:
        check = "quick_check ok"
    if version < known:
        schema = (
            f"schema {version}; the bot upgrades it to {known} when it starts (back it up first)"
        )
    else:
        schema = f"schema {version} (current)"
    return [Finding("database", Status.OK, f"{path}: {schema}, {check}")]


def space(path: Path, min_free: int) -> Finding:
    folder = _existing(path.parent)
    try:
        free = shutil.disk_usage(folder).free
        size = path.stat().st_size if path.exists() else 0
    except OSError as exc:
        return Finding("disk", Status.PROBLEM, f"cannot measure the free space of {folder}: {exc}")
    need = max(min_free, size)
    if free < need:
        return Finding(
            "disk",
            Status.PROBLEM,
            f"{_size(free)} free where the database lives ({folder}); it needs {_size(need)}",
            "free some space or move DATABASE_PATH: SQLite cannot write on a full disk",
        )
    return Finding("disk", Status.OK, f"{_size(free)} free where the database lives")


def _existing(folder: Path) -> Path:
    """The nearest folder that exists: where a missing one would be created."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


# -- The feeds ------------------------------------------------------------------------


async def check_feeds(
    settings: Settings,
    polled: Sequence[str],
    *,
    timeout: float = FEED_SECONDS,  # noqa: ASYNC109 - each feed's deadline
    total: float = FEEDS_SECONDS,
) -> list[Finding]:
    """Every feed the bot polls (the database's, and FEEDS_PATH's) fetched and parsed
    as the poller would, through the same client and its address rules."""
    findings = []
    urls = dict.fromkeys(polled)
    try:
        if settings.feeds_path.exists():
            urls.update(dict.fromkeys(feed.url for feed in read_feed_file(settings.feeds_path)))
        else:
            findings.append(
                Finding(
                    "feeds",
                    Status.PROBLEM,
                    f"FEEDS_PATH {settings.feeds_path} does not exist",
                    "point FEEDS_PATH at the feed list, or create it (see data/feeds.toml)",
                )
            )
    except SourceError as exc:
        findings.append(Finding("feeds", Status.PROBLEM, str(exc), "fix the file"))
    if not urls:
        return findings or [Finding("feeds", Status.OK, "none to poll")]
    deadline = min(timeout, settings.feed_timeout_seconds)
    gate = asyncio.Semaphore(max(FEED_CONCURRENCY, settings.feed_concurrency))
    reasons: dict[str, str] = {}
    readable: set[str] = set()

    async def one(client: httpx.AsyncClient, url: str) -> None:
        async with gate:
            try:
                result = await fetch(
                    client, url, timeout=deadline, max_bytes=settings.feed_max_bytes
                )
                await parse_fetched(result, max_bytes=settings.feed_max_bytes)
            except SourceError as exc:
                reasons[url] = str(exc)
            except Exception as exc:  # one feed's surprise must not hide the others
                reasons[url] = f"unexpected error ({type(exc).__name__})"
            else:
                readable.add(url)

    async with make_client(settings.feed_allowed_hosts) as client:
        tasks = [asyncio.create_task(one(client, url)) for url in urls]
        _, pending = await asyncio.wait(tasks, timeout=total)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    late = f"not checked: the doctor's {total:g} s for the feeds ran out"
    failures = {url: reasons.get(url, late) for url in urls if url not in readable}
    answered = len(urls) - len(failures)
    if answered:
        noun = "feed answers" if answered == 1 else "feeds answer"
        findings.append(Finding("feeds", Status.OK, f"{answered} {noun} with a readable feed"))
    for url, reason in failures.items():
        findings.append(
            Finding(
                "feeds",
                Status.PROBLEM,
                f"{url}: {reason}",
                "fix the address, or remove it (/feeds in the bot, or FEEDS_PATH)",
            )
        )
    return findings
