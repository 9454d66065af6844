"""The operator's command line: `python -m bot <command>`.

Each command is a thin shell over the same library functions the bot uses,
prints something readable (or `--json` for scripts), and turns every expected
failure into one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config import Settings
from bot.ingest.entry import SourceError
from bot.ingest.pipeline import retag
from bot.ingest.sources import ingest_location
from bot.logs import configure_logging
from bot.runtime import Content, open_content
from bot.search.query import MAX_PREFIXES, MIN_PREFIX_CHARS, QueryProblem
from bot.search.service import Hit, find
from bot.store import articles, topics
from bot.store.backup import backup
from bot.store.db import StoreError

EXIT_FAILURE = 1
EXIT_USAGE = 2

PROBLEM_TEXT = {
    QueryProblem.EMPTY: "Nothing to search: type some words, e.g. `search juarez`.",
    QueryProblem.TOO_LONG: "That search is too long: use a few words.",
    QueryProblem.ONLY_EXCLUDED: "Add a word to look for, not only words to exclude.",
    QueryProblem.UNKNOWN_LANGUAGE: "Unknown language: use lang:en or lang:es.",
    QueryProblem.UNKNOWN_TOPIC: "Unknown topic {topic!r}: see `topics`.",
    QueryProblem.SHORT_PREFIX: f"A prefix needs at least {MIN_PREFIX_CHARS} letters before the *.",
    QueryProblem.TOO_MANY_PREFIXES: f"Use at most {MAX_PREFIXES} prefixes (word*) in one search.",
    QueryProblem.TOO_BROAD: "That search is too broad: add a word.",
}


class CommandError(Exception):
    """An expected failure, shown as one line."""


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def _article_json(article: articles.Article, hit: Hit | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "language": article.language,
        "published_at": datetime.fromtimestamp(article.published_at, UTC).isoformat(),
        "topics": list(article.topics),
        "summary": article.summary,
    }
    if hit is not None:
        data["snippet"] = "".join(f"«{s.text}»" if s.marked else s.text for s in hit.snippet)
    return data


def _print_article(
    number: int, article: articles.Article, snippet: str, names: dict[str, str]
) -> None:
    print(f"{number}. {article.title}")
    details = [_date(article.published_at), article.language]
    if article.topics:
        details.append(", ".join(names.get(slug, slug) for slug in article.topics))
    print("   " + " · ".join(details))
    if article.url:
        print(f"   {article.url}")
    if snippet:
        print(f"   {snippet}")


def _marked(hit: Hit, tty: bool) -> str:
    if tty:
        return "".join(f"\033[1m{s.text}\033[0m" if s.marked else s.text for s in hit.snippet)
    return "".join(s.text for s in hit.snippet)


async def cmd_search(content: Content, args: argparse.Namespace) -> int:
    result = await find(content.db, content.catalogue, args.query, page=args.page - 1)
    if result.problem is not None:
        message = PROBLEM_TEXT[result.problem].format(topic=result.unknown_topic)
        if args.json:
            print(json.dumps({"results": [], "problem": result.problem.value, "message": message}))
        else:
            print(message)
        return 0
    if args.json:
        payload = {
            "results": [_article_json(hit.article, hit) for hit in result.hits],
            "has_more": result.has_more,
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not result.hits:
        print(f"No results for {args.query!r}. Try other words, or browse `topics`.")
        return 0
    names = {t.slug: t.name_en for t in content.catalogue.topics}
    tty = sys.stdout.isatty()
    first = (args.page - 1) * 5 + 1
    for number, hit in enumerate(result.hits, start=first):
        _print_article(number, hit.article, _marked(hit, tty), names)
    if result.has_more:
        print(f"More: --page {args.page + 1}")
    return 0


async def cmd_latest(content: Content, args: argparse.Namespace) -> int:
    slugs = []
    if args.topic:
        topic = content.catalogue.resolve(args.topic)
        if topic is None:
            raise CommandError(f"unknown topic {args.topic!r} (see `python -m bot topics`)")
        slugs.append(topic.slug)
    found = await articles.latest(content.db, topics=slugs, language=args.lang, limit=args.limit)
    if args.json:
        print(json.dumps([_article_json(a) for a in found], ensure_ascii=False, indent=2))
        return 0
    names = {t.slug: t.name_en for t in content.catalogue.topics}
    for number, article in enumerate(found, start=1):
        _print_article(number, article, "", names)
    if not found:
        print("No articles yet.")
    return 0


async def cmd_topics(content: Content, args: argparse.Namespace) -> int:
    counted = await topics.counts(content.db)
    if args.json:
        rows = [
            {"slug": t.slug, "en": t.name_en, "es": t.name_es, "articles": t.articles}
            for t in counted
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    width = max((len(t.slug) for t in counted), default=4)
    for topic in counted:
        print(f"{topic.slug:<{width}}  {topic.articles:>6}  {topic.name_en} / {topic.name_es}")
    return 0


async def cmd_retag(content: Content, args: argparse.Namespace) -> int:
    changed = await retag(content.db, content.catalogue)
    print(f"Re-tagged {changed} article(s) from {len(content.catalogue.topics)} topics.")
    return 0


async def cmd_ingest(content: Content, args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    failures = 0
    reports = []
    for location in args.sources:
        try:
            report = await ingest_location(
                content.db, content.catalogue, location, settings=settings, now=int(time.time())
            )
        except SourceError as exc:
            failures += 1
            print(f"error: {location}: {exc}", file=sys.stderr)
            continue
        reports.append(report)
        if not args.json:
            noun = "article" if report.seen == 1 else "articles"
            print(f"{location}: {report.seen} {noun} read, {report.new} new")
    if args.json:
        rows = [{"source": r.source, "seen": r.seen, "new": r.new} for r in reports]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    return EXIT_FAILURE if failures else 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """An online copy: safe while the bot runs, consistent to one transaction. The
    database is only read (not opened as the bot opens it, which would migrate it)."""
    destination = Path(args.destination)
    backup(settings.database_path, destination)
    print(f"Backed up {settings.database_path} to {destination}")
    return 0


Command = Callable[[Content, argparse.Namespace], Awaitable[int]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="A Telegram bot that serves a publication's articles, and its tools.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Command | None, help: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help, description=help)
        command.set_defaults(handler=handler)
        return command

    ingest = add("ingest", cmd_ingest, "Read feeds (URLs) or listing files into the store.")
    ingest.add_argument("sources", nargs="+", metavar="URL|FILE")
    ingest.add_argument("--json", action="store_true", help="machine-readable output")

    search = add("search", cmd_search, 'Search the articles (words, "phrase", -not, pre*).')
    search.add_argument("query", help='e.g. juarez, "ciudad juarez", topic:history lang:es')
    search.add_argument("--page", type=int, default=1, help="result page (5 per page)")
    search.add_argument("--json", action="store_true", help="machine-readable output")

    latest = add("latest", cmd_latest, "Show the newest articles.")
    latest.add_argument("--topic", help="a topic slug or name")
    latest.add_argument("--lang", choices=["en", "es"], help="only articles in this language")
    latest.add_argument("--limit", type=int, default=10, help="how many (default 10)")
    latest.add_argument("--json", action="store_true", help="machine-readable output")

    topics_cmd = add("topics", cmd_topics, "List the topic catalogue with article counts.")
    topics_cmd.add_argument("--json", action="store_true", help="machine-readable output")

    add("retag", cmd_retag, "Re-tag every article after editing data/topics.toml.")

    backup_cmd = add("backup", None, "Copy the database while the bot runs (online backup).")
    backup_cmd.add_argument("destination", help="a new file, e.g. backups/bot-2026-11-25.sqlite3")

    add(
        "run",
        None,
        "Run the bot: on Telegram with BOT_TOKEN, else (in a terminal) the local chat mode.",
    )
    add("chat", None, "Chat with the bot in this terminal, through the local Bot API emulator.")
    return parser


NO_TOKEN = (
    "error: BOT_TOKEN is not set. Copy .env.example to .env and set BOT_TOKEN "
    "(from @BotFather), or run in an interactive terminal for the local chat mode."
)


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def run_bot(settings: Settings, *, chat: bool) -> int:
    """`run`: Telegram with a token; the local chat mode without one, in a terminal."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    if token and not chat:
        from bot.telegram.run import run

        run(settings, token)
        return 0
    if not interactive():
        print(
            NO_TOKEN if not chat else "error: the chat mode needs an interactive terminal.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from bot.chat import chat_in_terminal

    return asyncio.run(chat_in_terminal(settings))


async def _run_with_content(settings: Settings, args: argparse.Namespace) -> int:
    content = await open_content(settings)
    try:
        handler: Command = args.handler
        return await handler(content, args)
    finally:
        await content.db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]).upper() or "settings"
        print(f"error: invalid setting {where}: {first['msg']}", file=sys.stderr)
        return EXIT_USAGE
    secrets = [s.get_secret_value() for s in (settings.bot_token, settings.webhook_secret) if s]
    quiet = args.command != "run" or not settings.bot_token
    configure_logging("WARNING" if quiet else settings.log_level, secrets)
    args.settings = settings
    try:
        if args.command in ("run", "chat"):
            return run_bot(settings, chat=args.command == "chat")
        if args.command == "backup":
            return cmd_backup(settings, args)
        return asyncio.run(_run_with_content(settings, args))
    except (CommandError, SourceError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except sqlite3.Error as exc:
        print(f"error: database: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
