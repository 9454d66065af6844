"""The operator's command line: `python -m bot <command>`.

Each command is a thin shell over the same library functions the bot uses,
prints something readable (or `--json` for scripts), and turns every expected
failure into one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from bot.admin import pairing
from bot.config import Settings
from bot.ingest.entry import SourceError
from bot.languages import LANGUAGES, flag
from bot.logs import configure_logging
from bot.numbers import LARGEST, whole_number
from bot.runtime import Content, open_content
from bot.search.query import MAX_PREFIXES, MIN_PREFIX_CHARS, QueryProblem
from bot.search.service import MAX_RESULTS, PAGE_SIZE, Hit, find
from bot.search.versions import one_per_story
from bot.services import Services
from bot.store import articles, topics
from bot.store.db import StoreError, is_database_error

EXIT_FAILURE = 1
EXIT_USAGE = 2

PREFER_HELP = "show a story written in both languages in this one (default: DEFAULT_LANGUAGE)"
LAST_PAGE = -(-MAX_RESULTS // PAGE_SIZE)  # paging reaches no further (bot.search.service)
MAX_LATEST = 10_000

# Each follows `error: ` on stderr, as every other refusal does.
PROBLEM_TEXT = {
    QueryProblem.EMPTY: "nothing to search: type some words, e.g. `search juarez`",
    QueryProblem.TOO_LONG: "that search is too long: use a few words",
    QueryProblem.ONLY_EXCLUDED: "add a word to look for, not only words to exclude",
    QueryProblem.UNKNOWN_LANGUAGE: "unknown language: use lang:en or lang:es",
    QueryProblem.UNKNOWN_TOPIC: "unknown topic {topic!r} (see `python -m bot topics`)",
    QueryProblem.SHORT_PREFIX: f"a prefix needs at least {MIN_PREFIX_CHARS} letters before the *",
    QueryProblem.TOO_MANY_PREFIXES: f"use at most {MAX_PREFIXES} prefixes (word*) in one search",
    QueryProblem.TOO_BROAD: "that search is too broad: add a word",
}


class CommandError(Exception):
    """An expected failure, shown as one line on stderr; `exit_code` is the status."""

    exit_code = EXIT_FAILURE


class UsageError(CommandError):
    """What was typed cannot be run: a bad option, a query the search refuses."""

    exit_code = EXIT_USAGE


class Parser(argparse.ArgumentParser):
    """argparse, refusing in one line: its own `error` prints the usage block above
    the message and exits, where every other refusal is one line and a return."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def counted(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type`: a whole number from `low` to `high`. A page or a limit
    below 1 has no meaning (`int` would take -1, and SQLite reads LIMIT -1 as
    no limit), and one past `high` would only ask for what cannot be shown."""

    def parse(text: str) -> int:
        value = whole_number(text)
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}")
        return value

    return parse


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def _article_json(article: articles.Article, hit: Hit | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "language": article.language,
        "published_at": (
            datetime.fromtimestamp(article.published_at, UTC).isoformat() if article.dated else None
        ),
        "topics": list(article.topics),
        "summary": article.summary,
        # A paired story is one result; its other version is named here.
        "translations": [
            {"id": other.id, "language": other.language, "title": other.title, "url": other.url}
            for other in ([article.translation] if article.translation else [])
        ],
    }
    if hit is not None:
        data["snippet"] = "".join(f"«{s.text}»" if s.marked else s.text for s in hit.snippet)
    return data


def _print_article(
    number: int, article: articles.Article, snippet: str, names: dict[str, str]
) -> None:
    print(f"{number}. {article.title}")
    details = [_date(article.published_at)] if article.dated else []
    details.append(article.language)
    if article.topics:
        details.append(", ".join(names.get(slug, slug) for slug in article.topics))
    print("   " + " · ".join(details))
    if article.url:
        print(f"   {article.url}")
    if snippet:
        print(f"   {snippet}")
    other = article.translation
    if other is not None:
        where = f" — {other.url}" if other.url else ""
        print(f"   {flag(other.language)} {other.title}{where}")


def _marked(hit: Hit, tty: bool) -> str:
    if tty:
        return "".join(f"\033[1m{s.text}\033[0m" if s.marked else s.text for s in hit.snippet)
    return "".join(s.text for s in hit.snippet)


def _refuse(args: argparse.Namespace, error: CommandError, problem: str) -> NoReturn:
    """A refusal of a search: the one line on stderr (by `main`), and for a script
    that asked for JSON, the same words and a stable problem code on stdout."""
    if args.json:
        print(json.dumps({"results": [], "problem": problem, "message": str(error)}))
    raise error


async def _last_page(content: Content, text: str, args: argparse.Namespace) -> int:
    """The last page that has results for `text` (0 when none has): one search of
    every result paging reaches, made only when a page past the end was asked for."""
    everything = await find(
        content.db, content.catalogue, text, page_size=MAX_RESULTS, prefer=_prefer(args)
    )
    return -(-len(everything.hits) // PAGE_SIZE)


def _prefer(args: argparse.Namespace) -> str:
    """The language a story written in both is shown in: --prefer, else the
    bot's default language."""
    settings: Settings = args.settings
    return str(args.prefer or settings.default_language)


async def cmd_search(content: Content, args: argparse.Namespace) -> int:
    result = await find(
        content.db, content.catalogue, args.query, page=args.page - 1, prefer=_prefer(args)
    )
    if result.problem is not None:
        message = PROBLEM_TEXT[result.problem].format(topic=result.unknown_topic)
        _refuse(args, UsageError(message), result.problem.value)
    if not result.hits and args.page > 1:
        last = await _last_page(content, args.query, args)
        if last:
            message = (
                f"page {args.page} is past the end: the results for {args.query!r}"
                f" end on page {last}"
            )
            _refuse(args, CommandError(message), "past_end")
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
    prefer = _prefer(args)
    found = await articles.latest(
        content.db, topics=slugs, language=args.lang, limit=args.limit, prefer=prefer
    )
    found = await one_per_story(content.db, found, args.lang or prefer)
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
    from bot.ingest.pipeline import retag  # here: `run` idles without it

    changed = await retag(content.db, content.catalogue)
    print(f"Re-tagged {changed} article(s) from {len(content.catalogue.topics)} topics.")
    return 0


# Each follows `error: not paired: ` on stderr (bot.store.translations.Outcome).
PAIR_REFUSED = {
    "same_article": "an article cannot be its own translation",
    "same_language": "#{first} and #{second} are both in {language}; a translation is in the"
    " other language",
    "unknown": "there is no article #{missing} (see `python -m bot search … --json` for ids)",
    "taken": "one of the two has another partner that this may not replace",
    "vetoed": "an admin said these two are not a pair",
}


def _services(content: Content, args: argparse.Namespace) -> Services:
    return Services(args.settings, content.db, content.catalogue, run_jobs=False)


def _named(article: articles.Article) -> str:
    return f"#{article.id} ({article.language}) {article.title}"


async def cmd_pair(content: Content, args: argparse.Namespace) -> int:
    first_id, second_id = args.first, args.second
    result = await pairing.pair(
        _services(content, args), first_id, second_id, admin_id=pairing.OPERATOR
    )
    if result.outcome == "already":
        print(f"#{first_id} and #{second_id} are already paired by an admin.")
        return 0
    if result.outcome == "paired" and result.first and result.second:
        print(f"Paired {_named(result.first)} with {_named(result.second)}.")
        for article_id, other_id in result.replaced:
            print(f"Undone to make it: #{article_id} ↔ #{other_id}.")
        return 0
    missing = first_id if result.first is None else second_id
    language = result.first.language if result.first else ""
    reason = PAIR_REFUSED.get(result.outcome, result.outcome).format(
        first=first_id, second=second_id, missing=missing, language=language
    )
    raise CommandError(f"not paired: {reason}")


async def cmd_unpair(content: Content, args: argparse.Namespace) -> int:
    result = await pairing.unpair(_services(content, args), args.id, admin_id=pairing.OPERATOR)
    if result.article is None:
        raise CommandError(f"there is no article #{args.id}")
    if result.former is None:
        print(f"#{args.id} has no translation paired with it.")
        return 0
    print(
        f"Unpaired {_named(result.article)} and {_named(result.former)};"
        f" only `pair {args.id} {result.former.id}` pairs them again."
    )
    return 0


async def cmd_pairs(content: Content, args: argparse.Namespace) -> int:
    listed: list[pairing.ListedPair] = []
    while batch := await pairing.listed_pairs(
        content.db, after_id=listed[-1].pair.first_id if listed else 0
    ):
        listed += batch
    if args.json:
        rows = [
            {
                "ids": [item.first.id, item.second.id],
                "how": item.pair.how,
                "score": item.pair.score,
                "at": datetime.fromtimestamp(item.pair.at, UTC).isoformat(),
                "articles": [
                    {"id": a.id, "language": a.language, "title": a.title, "url": a.url}
                    for a in (item.first, item.second)
                ],
            }
            for item in listed
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for item in listed:
        print(f"{_named(item.first)}\n  ↔ {_named(item.second)}  [{item.pair.how}]")
    if not listed:
        print("No pairs yet.")
    return 0


async def cmd_ingest(content: Content, args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    failures = 0
    reports = []
    from bot.ingest.sources import ingest_location  # here: `run` idles without it

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
    from bot.store.backup import backup  # here: `run` idles without it

    if settings.database.dialect != "sqlite":
        raise CommandError(
            "backup copies the SQLite file; back up a PostgreSQL store with pg_dump"
            " (README, Scaling out)"
        )
    destination = Path(args.destination)
    backup(settings.database_path, destination)
    if args.json:
        copy = {
            "source": str(settings.database_path),
            "destination": str(destination),
            "bytes": destination.stat().st_size,
        }
        print(json.dumps(copy, ensure_ascii=False))
    else:
        print(f"Backed up {settings.database_path} to {destination}")
    return 0


def cmd_store_copy(args: argparse.Namespace) -> int:
    """`store copy`: the SQLite store into PostgreSQL (bot.store.copy does it all)."""
    from bot.store.copy import copy_store  # here: only this command loads psycopg
    from bot.text import index_columns

    report = asyncio.run(
        copy_store(args.source, args.target, indexer=index_columns, replace=args.replace)
    )
    if args.json:
        copy = {
            "source": str(report.source),
            "target": str(report.target),
            "schema_version": report.version,
            "migrated_from": report.migrated_from,
            "replaced": report.replaced,
            "tables": dict(report.tables),
            "rows": report.rows,
            "unindexed": report.unindexed,
            "seconds": round(report.seconds, 3),
            "verified": True,
        }
        print(json.dumps(copy, ensure_ascii=False, indent=2))
        return 0
    if report.migrated_from is not None:
        print(
            f"{report.source} was at schema version {report.migrated_from};"
            f" migrated to {report.version} before the copy"
        )
    width = max((len(table) for table, _ in report.tables), default=5)
    for table, count in report.tables:
        print(f"{table:<{width}}  {count:>9}")
    if report.unindexed:
        print(f"left out {report.unindexed} search index entries of articles no longer stored")
    print(f"copied {report.rows} rows in {report.seconds:.1f} s; counts verified")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Run before the settings are known to load: a setting that does not is one
    of the things the doctor reports (each one on its own line), not a refusal."""
    try:
        settings: Settings | None = Settings()
    except ValidationError:
        settings = None
    secrets = (
        []
        if settings is None
        else [s.get_secret_value() for s in (settings.bot_token, settings.webhook_secret) if s]
    )
    configure_logging("WARNING", secrets)
    from bot.doctor import diagnose  # here: `run` idles without it

    diagnosis = asyncio.run(diagnose(Settings))
    if args.json:
        print(json.dumps(diagnosis.to_json(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(diagnosis.lines()))
    return 0 if diagnosis.ok else EXIT_FAILURE


Command = Callable[[Content, argparse.Namespace], Awaitable[int]]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m bot",
        description="A Telegram bot that serves a publication's articles, and its tools.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str, handler: Command | None, help: str, **options: Any
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help, description=help, **options)
        command.set_defaults(handler=handler)
        return command

    ingest = add("ingest", cmd_ingest, "Read feeds (URLs) or listing files into the store.")
    ingest.add_argument("sources", nargs="+", metavar="URL|FILE")
    ingest.add_argument("--json", action="store_true", help="machine-readable output")

    # No -h: `-health` would read as -h with "ealth" after it; --help still helps.
    search = add(
        "search", cmd_search, 'Search the articles (words, "phrase", -not, pre*).', add_help=False
    )
    search.add_argument("--help", action="help", help="show this help message and exit")
    search.add_argument(
        "query",
        nargs="*",
        help='words, e.g. ciudad juarez -video, "a phrase", topic:history lang:es',
    )
    search.add_argument(
        "--page",
        type=counted(1, LAST_PAGE),
        default=1,
        help=f"result page, 1 to {LAST_PAGE} ({PAGE_SIZE} per page)",
    )
    search.add_argument("--json", action="store_true", help="machine-readable output")
    search.add_argument("--prefer", choices=LANGUAGES, help=PREFER_HELP)

    latest = add("latest", cmd_latest, "Show the newest articles.")
    latest.add_argument("--topic", help="a topic slug or name")
    latest.add_argument("--lang", choices=LANGUAGES, help="only articles in this language")
    latest.add_argument(
        "--limit",
        type=counted(1, MAX_LATEST),
        default=10,
        help=f"how many, 1 to {MAX_LATEST} (default 10)",
    )
    latest.add_argument("--json", action="store_true", help="machine-readable output")
    latest.add_argument("--prefer", choices=LANGUAGES, help=PREFER_HELP)

    topics_cmd = add("topics", cmd_topics, "List the topic catalogue with article counts.")
    topics_cmd.add_argument("--json", action="store_true", help="machine-readable output")

    add("retag", cmd_retag, "Re-tag every article after editing the topics (TOPICS_PATH).")

    article_id = counted(1, LARGEST)
    pair_cmd = add(
        "pair",
        cmd_pair,
        "Pair an article with its translation (an admin's decision: the sources and the"
        " matcher never change it).",
    )
    pair_cmd.add_argument("first", type=article_id, metavar="ID", help="an article's id")
    pair_cmd.add_argument("second", type=article_id, metavar="ID", help="its translation's id")
    unpair_cmd = add(
        "unpair",
        cmd_unpair,
        "Part an article from its translation; the two are never paired again but by `pair`.",
    )
    unpair_cmd.add_argument("id", type=article_id, metavar="ID", help="an article's id")
    pairs_cmd = add("pairs", cmd_pairs, "List the articles paired with their translation.")
    pairs_cmd.add_argument("--json", action="store_true", help="machine-readable output")

    doctor_cmd = add(
        "doctor",
        None,
        "Check the settings, the token, the webhook, the database and the feeds; "
        "exit 1 when something is wrong.",
    )
    doctor_cmd.add_argument("--json", action="store_true", help="machine-readable output")

    backup_cmd = add("backup", None, "Copy the database while the bot runs (online backup).")
    backup_cmd.add_argument("destination", help="a new file, e.g. backups/bot-2026-11-25.sqlite3")
    backup_cmd.add_argument("--json", action="store_true", help="machine-readable output")

    store_cmd = add("store", None, "Move the store between engines (while the bot is stopped).")
    store_sub = store_cmd.add_subparsers(dest="store_command", metavar="SUBCOMMAND", required=True)
    copy_help = "Copy a whole SQLite store into a PostgreSQL database."
    copy_cmd = store_sub.add_parser(
        "copy",
        help=copy_help,
        description=copy_help
        + " Stop the bot first. Both stores are brought to this version's schema (an"
        " older SQLite file is migrated, an empty PostgreSQL database created), then"
        " every table is copied in one transaction, its row counts checked against"
        " the source's: on any failure the target is left as it was. A target that"
        " already holds rows is refused unless --replace is given; with it, the target"
        " is emptied and filled again in that same transaction, so running the same"
        " copy again (after an interruption, say) is safe and ends equal to the source.",
    )
    copy_cmd.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="SQLITE",
        help="the SQLite store: sqlite:///relative/path, sqlite:////absolute/path or a path",
    )
    copy_cmd.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="POSTGRESQL",
        help="the PostgreSQL database: postgresql://user:password@host:5432/database",
    )
    copy_cmd.add_argument(
        "--replace",
        action="store_true",
        help="empty a target that already holds rows and copy into it",
    )
    copy_cmd.add_argument("--json", action="store_true", help="machine-readable output")

    add(
        "run",
        None,
        "Run the bot: on Telegram with BOT_TOKEN, else (in a terminal) the local chat mode.",
    )
    chat = add(
        "chat", None, "Chat with the bot in this terminal, through the local Bot API emulator."
    )
    chat.add_argument(
        "--lang",
        choices=LANGUAGES,
        help="the language you speak to the bot in (default: your terminal's LANG, "
        "else DEFAULT_LANGUAGE)",
    )
    chat.add_argument(
        "--admin", action="store_true", help="chat as one of the bot's admins (/stats, /feeds, …)"
    )
    return parser


NO_TOKEN = (
    "error: BOT_TOKEN is not set. Copy .env.example to .env and set BOT_TOKEN "
    "(from @BotFather), or run in an interactive terminal for the local chat mode."
)


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def run_bot(
    settings: Settings, *, chat: bool, language: str | None = None, admin: bool = False
) -> int:
    """`run`: Telegram with a token; the local chat mode without one, in a terminal
    (`chat` always), where the person speaks `language` and may be an `admin`."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    if token and not chat:
        from telegram.error import InvalidToken

        from bot.telegram.run import run

        try:
            run(settings, token)
        except InvalidToken:
            # PTB's message repeats the token: never print it.
            print(
                "error: Telegram rejected BOT_TOKEN; copy it again from @BotFather"
                " (python -m bot doctor checks it)",
                file=sys.stderr,
            )
            return EXIT_FAILURE
        return 0
    if not interactive():
        print(
            NO_TOKEN if not chat else "error: the chat mode needs an interactive terminal.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from bot.chat import chat_in_terminal

    return asyncio.run(chat_in_terminal(settings, language=language, admin=admin))


async def _run_with_content(settings: Settings, args: argparse.Namespace) -> int:
    content = await open_content(settings)
    try:
        handler: Command = args.handler
        return await handler(content, args)
    finally:
        await content.db.close()


def parse_arguments(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    """The parsed command line, where a search's words may start with `-`.

    argparse takes `-video` for an option it does not know, so a query that
    excludes a word needed `--` before it. A search's unknown single-dash words are
    its exclusions, put back among its other words in the order typed (where an
    option's value is the same text as a word, the two are interchangeable); an
    unknown `--word` stays a mistyped option."""
    typed = list(sys.argv[1:] if argv is None else argv)
    args, extras = parser.parse_known_args(typed)
    if args.command == "search" and not any(extra.startswith("--") for extra in extras):
        words = Counter(args.query + extras)
        in_order = []
        for token in typed[1:]:  # after the command's own name
            if words[token] > 0:
                words[token] -= 1
                in_order.append(token)
        args.query, extras = " ".join(in_order), []
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parse_arguments(parser, argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "doctor":
        return cmd_doctor(args)
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]).upper() or "settings"
        print(f"error: invalid setting {where}: {first['msg']}", file=sys.stderr)
        return EXIT_USAGE
    secrets = [s.get_secret_value() for s in (settings.bot_token, settings.webhook_secret) if s]
    quiet = args.command != "run" or not settings.bot_token
    configure_logging("WARNING" if quiet else settings.log_level, secrets, settings.log_format)
    args.settings = settings
    try:
        if args.command in ("run", "chat"):
            chat = args.command == "chat"
            language = args.lang if chat else None
            return run_bot(settings, chat=chat, language=language, admin=chat and args.admin)
        if args.command == "backup":
            return cmd_backup(settings, args)
        if args.command == "store":
            return cmd_store_copy(args)
        return asyncio.run(_run_with_content(settings, args))
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (SourceError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:
        if not is_database_error(exc):
            raise
        print(f"error: database: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
