"""PostgreSQL and replicas: the same figures as on SQLite, each beside SQLite's or
one replica's from the same run.

Search. The search benchmark's cached million-article SQLite store is moved into
PostgreSQL as an operator moves one (`bot.store.copy.copy_store`, what `python -m
bot store copy` runs), then VACUUM ANALYZE, as after any bulk load. The server's
data directory is cached under `bench/.cache/` keyed like the SQLite store (size,
generator, schema) and by the PostgreSQL article tables and server version, so
the copy is paid once. Each of the search benchmark's queries is timed four ways,
interleaved and shuffled each round: `service.find` on each engine, and each
engine's bare query for the same words on a plain connection, built here without
project code (SQLite: `bench.search`'s FTS5 reference; PostgreSQL: `document @@
to_tsquery('simple', …) ORDER BY ts_rank … LIMIT 5`). Before anything is timed,
`service.find` must give the same articles on both, and each reference must match
as many rows as the project's expression on its engine.

Replicas. Every bot is `python -m bot run` in webhook mode behind `python -m
bench.proxy`, a round-robin proxy in its own process (as an operator puts replicas
behind a load balancer), so one bot and two are measured through the same hops:

* command latency (`bench.latency`'s load: a steady rate from distinct users, from
  the post to the emulator's record of the reply) for one bot on SQLite, one on
  PostgreSQL and two replicas on PostgreSQL, in turn on the same archive; the two
  replicas' reference is the one on PostgreSQL;
* a fan-out (`bench.fanout`'s: one breaking article to N instant subscribers,
  Telegram's limits enforced by the emulator) with two replicas on one fresh
  PostgreSQL store while other users send /latest through the proxy to both: the
  bot's messages a second while it runs (its replies to them too: Telegram's 30 a
  second are the bot's) against 30, 429s, the most messages in any one second;
* failover: kill -9 of the leading replica, a message queued right after (as a
  broadcast queues its own), and the time to the first one the other sends (only
  the leader sends), a few times, the killed one started again between trials.

The server runs with `synchronous_commit = off`, the counterpart of the SQLite
store's `synchronous = NORMAL` in WAL mode: a commit does not wait for the disk,
and a crash loses at most the last moments, never the database. Other settings
are the server's defaults (shared_buffers 128 MB).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench import Options, fanout, say
from bench import search as lite
from bench.latency import (
    GRACE,
    REPLY_BUDGET,
    ROOT,
    SETTINGS_ENV,
    EmulatorProcess,
    Load,
    Phase,
    ProcessFailed,
    add_users,
    announced_url,
    cpu_seconds,
    emulator_process,
    scratch_copy,
)
from bench.latency import P50_TARGET as LATENCY_P50
from bench.latency import P99_TARGET as LATENCY_P99
from bench.latency import stop as stop_process
from bench.report import Row, Target
from bench.search import Query, percentile
from bot.config import Settings
from bot.digest.dispatch import reschedule
from bot.emulator import DEFAULT_TOKEN, EmulatorClient
from bot.runtime import sync_catalogue
from bot.search.query import parse_query
from bot.search.service import PAGE_SIZE, find
from bot.services import Doorbell
from bot.store import articles, chats, outbox
from bot.store.articles import SEARCH_WINDOW
from bot.store.copy import copy_store
from bot.store.db import Database
from bot.store.fulltext import tsquery, tsquery_titles
from bot.store.leader import notices_for
from bot.store.outbox import NewMessage
from bot.store.postgres import _translate
from bot.text import index_columns
from bot.topics import Catalogue, load_catalogue
from tests import postgres

ARCHIVE = "archive"  # the database the SQLite archive is copied into
SEARCH = "article_search"
PLANNED = 3  # slowest queries whose plans the report shows
SERVER_SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c synchronous_commit=off",
    # Loaded, tracking nothing: the latency runs turn it on for their own database only.
    "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=none",
)  # the rest: the server's defaults
START_SECONDS = 120  # a cached data directory may replay some WAL first


# --- the server -----------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server on a data directory of its own (`root/data`), kept or not."""

    root: Path
    port: int
    runner: tuple[str, ...]
    keep: bool  # a cached directory: stopped cleanly, never removed

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{postgres.USER}@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.runner, str(postgres.bindir() / "pg_ctl"), "-D", str(self.data), *args],
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
        )

    def start(self) -> None:
        # TCP only: a socket in a deep cache folder may pass the 107 bytes a socket path may have.
        options = f"-p {self.port} -c unix_socket_directories='' {' '.join(SERVER_SETTINGS)}"
        log = self.root / "server.log"
        done = self.pg_ctl("-o", options, "-l", str(log), "-w", "-t", str(START_SECONDS), "start")
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-2_000:] if log.exists() else ""
            raise postgres.Unavailable(f"starting the server failed: {done.stderr}\n{tail}")

    def stop(self) -> None:
        """A clean stop (a checkpoint), so a kept directory starts again without recovery."""
        self.pg_ctl("-m", "fast", "-w", "stop")
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def execute(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql.encode())


def new_server(root: Path, *, keep: bool) -> Server:
    """initdb in `root/data` (owned by the server's user when this runs as root), started."""
    runner, owner = postgres.runner_and_owner()
    root.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        os.chown(root, owner, -1)
    server = Server(root, postgres.free_port(), runner, keep)
    postgres.run_tool(
        [*runner, str(postgres.bindir() / "initdb"), "-D", str(server.data), "-A", "trust",
         "-U", postgres.USER, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
        "initdb",
    )  # fmt: skip
    server.start()
    return server


def cached_server(root: Path) -> Server:
    """The server on a cached data directory, started where it is (a run that died
    left it unclean: the server recovers it from its WAL on start)."""
    runner, _ = postgres.runner_and_owner()
    server = Server(root, postgres.free_port(), runner, keep=True)
    server.start()
    return server


def server_cpu(server: Server) -> float:
    """CPU seconds the server's processes have used so far (its postmaster and every
    backend it started), NaN without /proc."""
    try:
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    total = cpu_seconds(postmaster)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += cpu_seconds(int(entry.name))
    return total


def server_version() -> str:
    done = subprocess.run(
        [str(postgres.bindir() / "postgres"), "--version"], capture_output=True, text=True
    )
    return done.stdout.strip()


# --- the million articles in PostgreSQL ---------------------------------------------


@dataclass(frozen=True)
class Archive:
    server: Server
    url: str
    articles: int
    copy_seconds: float
    vacuum_seconds: float
    size_bytes: int
    cached: bool
    built_on: str
    copied_rows: int


async def pg_fingerprint(server: Server) -> str:
    """The article tables as the current PostgreSQL migrations create them, read from
    a freshly migrated database (as `bench.search.schema_fingerprint` does for SQLite)."""
    server.execute("CREATE DATABASE schema_probe")
    try:
        db = await Database.open(server.url("schema_probe"))
        try:
            rows = await db.fetchall(
                "SELECT table_name, column_name, data_type, coalesce(generation_expression, '')"
                " FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = ANY(?) ORDER BY table_name, ordinal_position",
                (list(lite.ARTICLE_TABLES),),
            )
            rows += await db.fetchall(
                "SELECT tablename, indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema() AND tablename = ANY(?)"
                " ORDER BY tablename, indexname",
                (list(lite.ARTICLE_TABLES),),
            )
        finally:
            await db.close()
    finally:
        server.execute("DROP DATABASE schema_probe")
    digest = hashlib.sha256(server_version().encode())
    for row in rows:
        digest.update("\x00".join(str(value) for value in row).encode("utf-8"))
    return digest.hexdigest()[:8]


async def archive(options: Options, built: lite.Built) -> Archive:
    """A running server holding the cached store in database ARCHIVE, copied first if
    needed. The caller stops the server."""
    key = await lite.cache_key(built.articles)
    probe = new_server(Path(tempfile.mkdtemp(prefix="bench-postgres-")), keep=False)
    try:
        fingerprint = await pg_fingerprint(probe)
    finally:
        probe.stop()
    name = f"postgres-{key}-p{fingerprint}"
    root = options.cache_dir / name
    meta = options.cache_dir / f"{name}.json"
    if (root / "data").is_dir() and meta.exists():
        info = json.loads(meta.read_text("utf-8"))
        say(options, f"PostgreSQL archive from the cache ({name})")
        server = cached_server(root)
        return _archive(server, built, info, cached=True)
    if not reachable(options.cache_dir):
        say(options, f"the server's user cannot reach {options.cache_dir}: the copy is not cached")
        server = new_server(Path(tempfile.mkdtemp(prefix="bench-postgres-")), keep=False)
        try:
            return _archive(server, built, await _copy(options, server, built), cached=False)
        except BaseException:
            server.stop()
            raise
    for stale in options.cache_dir.glob(f"postgres-articles-{built.articles}-*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink()
    partial = options.cache_dir / f"{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    server = new_server(partial, keep=True)
    try:
        info = await _copy(options, server, built)
    except BaseException:
        server.stop()
        shutil.rmtree(partial, ignore_errors=True)
        raise
    server.stop()
    partial.replace(root)
    meta.write_text(json.dumps(info), "utf-8")
    server = cached_server(root)
    return _archive(server, built, info, cached=False)


def reachable(folder: Path) -> bool:
    """Whether the server's user may enter `folder` (as root the server runs as
    `postgres`, and a checkout under a private home is closed to it)."""
    runner, _ = postgres.runner_and_owner()
    if not runner:
        return True
    done = subprocess.run([*runner, "test", "-x", str(folder)], capture_output=True)
    return done.returncode == 0


def _archive(server: Server, built: lite.Built, info: dict[str, Any], *, cached: bool) -> Archive:
    with psycopg.connect(server.url(ARCHIVE)) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return Archive(
        server,
        server.url(ARCHIVE),
        built.articles,
        info["copy_seconds"],
        info["vacuum_seconds"],
        int(row[0]) if row else 0,
        cached,
        info["built_on"],
        info["rows"],
    )


async def _copy(options: Options, server: Server, built: lite.Built) -> dict[str, Any]:
    server.execute(f"CREATE DATABASE {ARCHIVE}")
    say(options, f"copying {built.path.name} into PostgreSQL (cached afterwards) …")
    report = await copy_store(built.path, server.url(ARCHIVE), indexer=index_columns)
    say(options, f"  {report.rows:,} rows in {report.seconds:.0f} s; VACUUM ANALYZE …")
    started = time.perf_counter()
    server.execute("VACUUM ANALYZE", ARCHIVE)
    vacuum = time.perf_counter() - started
    say(options, f"  VACUUM ANALYZE {vacuum:.0f} s")
    return {
        "copy_seconds": report.seconds,
        "vacuum_seconds": vacuum,
        "rows": report.rows,
        "tables": dict(report.tables),
        "built_on": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


@asynccontextmanager
async def scratch_database(server: Server, template: str, name: str) -> AsyncIterator[str]:
    """A throwaway copy of database `template` (a file copy, fast), its URL."""
    server.execute(f"DROP DATABASE IF EXISTS {name}")
    server.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    try:
        yield server.url(name)
    finally:
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- search: the reference, built without project code ------------------------------

REFERENCE_SQL = (
    "SELECT rowid FROM article_search, to_tsquery('simple', %s) AS q"
    " WHERE document @@ q ORDER BY ts_rank(document, q) DESC LIMIT 5"
)
COUNT_SQL = "SELECT count(*) FROM article_search WHERE document @@ to_tsquery('simple', %s)"
WINDOW_SQL = (
    "SELECT count(*) FROM (SELECT rowid FROM article_search"
    " WHERE document @@ to_tsquery('simple', %s) ORDER BY rowid DESC LIMIT %s) AS w"
)
# The document's weights (migration 0024): English title A, Spanish title B,
# English summary C, Spanish summary D.
ENGLISH, SPANISH = "AC", "BD"


def reference_tsquery(text: str) -> str:
    """to_tsquery syntax for the words of `text`: each term's English stems in the
    English columns or its Spanish stems in the Spanish ones (as `reference_match`
    says for FTS5, from the same folding and stemmers)."""
    terms = []
    for match in lite._TERM.finditer(text):
        raw = match[1] if match[1] is not None else match[2]
        prefix = match[1] is None and raw.endswith("*")
        folded = lite._WORD.findall(lite._fold(raw))
        groups = [folded] if match[1] is not None else [[w] for w in folded]
        for group in groups:
            english = _phrase(lite._english.stemWords(group), prefix, ENGLISH)
            spanish = _phrase(lite._spanish.stemWords(group), prefix, SPANISH)
            terms.append(f"({english} | {spanish})")
    return " & ".join(terms)


def _phrase(stems: Sequence[str], prefix: bool, weights: str) -> str:
    last = len(stems) - 1
    return " <-> ".join(
        f"'{stem}':{'*' if prefix and i == last else ''}{weights}" for i, stem in enumerate(stems)
    )


# --- search: timing ------------------------------------------------------------------

SIDES = ("find_pg", "find_lite", "raw_pg", "raw_lite")


@dataclass
class SearchTiming:
    query: Query
    matches: int
    ms: dict[str, list[float]] = field(default_factory=lambda: {side: [] for side in SIDES})
    pg_window_ms: float = 0.0  # diagnostic: the newest SEARCH_WINDOW matches on PostgreSQL
    lite_window_ms: float = 0.0  # the same on FTS5

    def p(self, side: str, fraction: float) -> float:
        return percentile(self.ms[side], fraction)


def _best_of(run: Any, times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        run()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


async def _same_results(
    pg: Database, sqlite: Database, catalogue: Catalogue, chosen: Sequence[Query]
) -> None:
    """service.find gives the same articles, in the same order, on both engines."""
    for query in chosen:
        ours = await find(pg, catalogue, query.text)
        theirs = await find(sqlite, catalogue, query.text)
        assert ours.problem is None, (query.text, ours.problem)
        assert theirs.problem is None, (query.text, theirs.problem)
        left = [hit.article.id for hit in ours.hits]
        right = [hit.article.id for hit in theirs.hits]
        if left != right:
            raise RuntimeError(f"{query.text!r}: PostgreSQL found {left}, SQLite {right}")


async def measure_search(
    pg: Database,
    sqlite: Database,
    catalogue: Catalogue,
    archive_url: str,
    lite_path: Path,
    chosen: Sequence[Query],
    rounds: int,
    seed: int = 5,
) -> list[SearchTiming]:
    """The four timings of every query, interleaved and shuffled each round, so a slow
    moment on the shared machine does not land on one side only."""
    rng = random.Random(seed)
    await _same_results(pg, sqlite, catalogue, chosen)
    raw_lite = sqlite3.connect(f"file:{lite_path}?mode=ro", uri=True)
    raw_pg = psycopg.connect(archive_url, autocommit=True)
    try:
        timings: dict[str, SearchTiming] = {}
        for query in chosen:
            parsed = parse_query(query.text).text_match()
            assert parsed is not None
            ours = tsquery(parsed)
            theirs = reference_tsquery(query.text)
            found = [raw_pg.execute(COUNT_SQL, (text,)).fetchone() for text in (ours, theirs)]
            counts = [int(row[0]) if row else -1 for row in found]
            if counts[0] != counts[1]:
                raise RuntimeError(
                    f"{query.text!r}: project {counts[0]} rows, reference {counts[1]}"
                )
            lite_count = raw_lite.execute(
                "SELECT count(*) FROM article_search WHERE article_search MATCH ?",
                (lite.reference_match(query.text),),
            ).fetchone()[0]
            if lite_count != counts[0]:
                raise RuntimeError(
                    f"{query.text!r}: {counts[0]} rows on PostgreSQL, {lite_count} on SQLite"
                )
            timing = SearchTiming(query, counts[0])
            timing.pg_window_ms = _best_of(
                lambda t=theirs: raw_pg.execute(WINDOW_SQL, (t, SEARCH_WINDOW)).fetchall()
            )
            timing.lite_window_ms = _best_of(
                lambda q=query: raw_lite.execute(
                    lite.WINDOW_SQL, (lite.reference_match(q.text), SEARCH_WINDOW)
                ).fetchall()
            )
            timings[query.text] = timing
        for round_number in range(rounds + 1):  # round 0 warms the caches, untimed
            order = list(chosen)
            rng.shuffle(order)
            for query in order:
                fts5 = lite.reference_match(query.text)
                ts = reference_tsquery(query.text)
                sides = list(SIDES)
                rng.shuffle(sides)
                for side in sides:
                    started = time.perf_counter()
                    if side == "find_pg":
                        result = await find(pg, catalogue, query.text)
                        assert result.problem is None, (query.text, result.problem)
                    elif side == "find_lite":
                        result = await find(sqlite, catalogue, query.text)
                        assert result.problem is None, (query.text, result.problem)
                    elif side == "raw_pg":
                        raw_pg.execute(REFERENCE_SQL, (ts,)).fetchall()
                    else:
                        raw_lite.execute(lite.REFERENCE_SQL, (fts5,)).fetchall()
                    elapsed = (time.perf_counter() - started) * 1000
                    if round_number:
                        timings[query.text].ms[side].append(elapsed)
                await asyncio.sleep(0)
    finally:
        raw_lite.close()
        raw_pg.close()
    return [timings[query.text] for query in chosen]


def find_plan(url: str, text: str) -> str:
    """Diagnostic: how the server runs find's own query for `text` (EXPLAIN ANALYZE of
    the store's PostgreSQL search text, as `articles.search` binds it): the scan that
    reads article_search, the rows it kept and dropped, and the whole query's time."""
    match = parse_query(text).text_match()
    assert match is not None
    params = {
        "window": SEARCH_WINDOW,
        "limit": PAGE_SIZE + 1,
        "offset": 0,
        "prefer": None,
        "match": tsquery(match),
        "in_title": tsquery_titles(match),
        "language": None,
    }
    statement = "EXPLAIN (ANALYZE, FORMAT JSON) " + _translate(articles._search_postgresql(0), True)
    with psycopg.connect(url) as conn, psycopg.ClientCursor(conn) as cursor:
        cursor.execute(statement.encode(), params)
        found = cursor.fetchone()
    if found is None:
        return "no plan"
    explained = found[0][0]
    scans = [node for node in _nodes(explained["Plan"]) if node.get("Relation Name") == SEARCH]
    parts = []
    for node in scans:
        index = f" using {node['Index Name']}" if "Index Name" in node else ""
        backward = " Backward" if node.get("Scan Direction") == "Backward" else ""
        removed = node.get("Rows Removed by Filter", 0) + node.get(
            "Rows Removed by Index Recheck", 0
        )
        parts.append(
            f"{node['Node Type']}{backward}{index}: {node['Actual Rows']:,.0f} rows kept"
            + (f", {removed:,.0f} read and dropped" if removed else "")
        )
    return (
        f"{'; '.join(parts) or 'no scan of article_search'}; {explained['Execution Time']:.0f} ms"
    )


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


def _all(timings: Sequence[SearchTiming], side: str) -> list[float]:
    return [ms for timing in timings for ms in timing.ms[side]]


def _search_detail(
    timings: Sequence[SearchTiming], archive: Archive, built: lite.Built, plans: dict[str, str]
) -> str:
    lines = [
        f"{'query':<26} {'kind':<27} {'matches':>8}  {'find: pg':>8} {'p99':>6} {'sqlite':>7}"
        f" {'p99':>6}  {'raw: pg':>8} {'p99':>7} {'fts5':>7} {'p99':>6}  {'window pg':>9}"
        f" {'fts5':>6}",
    ]
    for t in timings:
        lines.append(
            f"{t.query.text:<26} {t.query.kind:<27} {t.matches:>8,}"
            f"  {t.p('find_pg', 0.5):>8.2f} {t.p('find_pg', 0.99):>6.1f}"
            f" {t.p('find_lite', 0.5):>7.2f} {t.p('find_lite', 0.99):>6.1f}"
            f"  {t.p('raw_pg', 0.5):>8.1f} {t.p('raw_pg', 0.99):>7.1f}"
            f" {t.p('raw_lite', 0.5):>7.1f} {t.p('raw_lite', 0.99):>6.1f}"
            f"  {t.pg_window_ms:>9.2f} {t.lite_window_ms:>6.2f}"
        )
    lines += [
        "ms, p50 then p99 of each. find: bot.search.service.find on each engine (the same"
        " articles on both, checked first); raw: each engine's bare query on a plain",
        "connection (PostgreSQL: document @@ to_tsquery('simple', …) ORDER BY ts_rank LIMIT 5;"
        " FTS5: MATCH … ORDER BY rank LIMIT 5), which ranks every match. window: the newest",
        f"{SEARCH_WINDOW:,} matches unranked, best of 3 (the floor under find's query on that"
        " engine).",
        f"PostgreSQL database {archive.size_bytes / 1e6:,.0f} MB (pg_database_size) beside the"
        f" SQLite file's {built.size_bytes / 1e6:,.0f} MB; server: {server_version()},"
        " synchronous_commit off, other settings default.",
        "How the server ran find's query for the slowest (EXPLAIN ANALYZE, once, after the"
        " timing):",
        *(f"  {text}: {plan}" for text, plan in plans.items()),
    ]
    return "\n".join(lines)


def _search_note(timings: Sequence[SearchTiming], fraction: float, plans: dict[str, str]) -> str:
    """Why PostgreSQL's find misses its bound at this percentile, from this run's figures."""
    label = f"p{round(fraction * 100)}"
    bound = (lite.P50_TARGET if fraction == 0.5 else lite.P99_TARGET).bound
    over = [t for t in timings if t.p("find_pg", fraction) > bound]
    slow = sorted(over, key=lambda t: -t.p("find_pg", fraction))[:3]
    described = "; ".join(
        f"{t.query.text} ({t.query.kind}, {t.matches:,} matches): {t.p('find_pg', fraction):.0f}"
        f" ms, SQLite {t.p('find_lite', fraction):.0f} ms; plan: {plans.get(t.query.text, '?')}"
        for t in slow
    )
    backward = any("Backward" in plans.get(t.query.text, "") for t in slow)
    bitmap = any("Bitmap" in plans.get(t.query.text, "") for t in slow)
    remedies = []
    if backward:
        remedies.append(
            "where the plan walks the primary key newest first and tests each row's document"
            " (rows read and dropped), it reads every row back to the oldest of the newest"
            f" {SEARCH_WINDOW:,} matches, matching or not: when matches are a small share of"
            " the rows, a bitmap scan of the GIN index reads fewer (only the matches, then"
            " sorts them), so a query shape or statistics that let the planner see how rare"
            " a word is would close it"
        )
    if bitmap:
        remedies.append(
            "where the plan is a bitmap scan of the GIN index, every match is fetched and"
            f" sorted to keep the newest {SEARCH_WINDOW:,}, so the cost grows with the number"
            " of matches, where FTS5 walks its doclist newest first and stops: an index that"
            " yields matches newest first (RUM ordered by id) or searching id ranges newest"
            " first would close it"
        )
    return (
        f"{len(over)} of {len(timings)} queries take over {bound:g} ms at {label} on"
        f" PostgreSQL; the slowest: {described}. What would close it, to be measured here"
        f" before and after: {'; '.join(remedies) or 'see the plans in the details'}."
    )


async def search_rows(options: Options, built: lite.Built, archive: Archive) -> list[Row]:
    catalogue = load_catalogue(lite.TOPICS)
    chosen = lite.queries()
    say(options, f"timing {len(chosen)} queries × {options.rounds} rounds × 4 ways")
    sqlite = await Database.open(built.path)
    try:
        pg = await Database.open(archive.url)
        try:
            await sync_catalogue(sqlite, catalogue)
            await sync_catalogue(pg, catalogue)
            timings = await measure_search(
                pg, sqlite, catalogue, archive.url, built.path, chosen, options.rounds
            )
        finally:
            await pg.close()
    finally:
        await sqlite.close()
    slowest = sorted(timings, key=lambda t: -t.p("find_pg", 0.99))[:PLANNED]
    slowest += sorted(timings, key=lambda t: -t.p("find_pg", 0.5))[:PLANNED]
    plans = {t.query.text: find_plan(archive.url, t.query.text) for t in slowest}
    n = f"{archive.articles:,}"
    copied = (
        f"{archive.copied_rows:,} rows ({archive.articles / archive.copy_seconds:,.0f}"
        f" articles/s) by bot.store.copy.copy_store (python -m bot store copy), one"
        f" transaction; then VACUUM ANALYZE {archive.vacuum_seconds:.0f} s; copied"
        f" {archive.built_on}" + (", reused from the cache" if archive.cached else "")
    )
    rows = [
        Row(f"store copy, {n} articles (SQLite to PostgreSQL)", archive.copy_seconds, "s",
            detail=copied),
    ]  # fmt: skip
    for fraction, target in ((0.5, lite.P50_TARGET), (0.99, lite.P99_TARGET)):
        label = f"p{round(fraction * 100)}"
        find_row = Row(
            f"search, {n} articles on PostgreSQL (service.find) {label}",
            percentile(_all(timings, "find_pg"), fraction),
            "ms",
            reference=f"service.find on SQLite, same queries and run, {label}",
            reference_value=percentile(_all(timings, "find_lite"), fraction),
            target=target,
            detail=_search_detail(timings, archive, built, plans) if fraction == 0.5 else "",
        )
        if find_row.met is False:
            find_row = replace(find_row, note=_search_note(timings, fraction, plans))
        rows.append(find_row)
    for fraction in (0.5, 0.99):
        label = f"p{round(fraction * 100)}"
        rows.append(
            Row(
                f"search, {n} articles, raw PostgreSQL tsquery ORDER BY ts_rank LIMIT 5 {label}",
                percentile(_all(timings, "raw_pg"), fraction),
                "ms",
                reference=f"raw FTS5 MATCH, ORDER BY rank LIMIT 5 (sqlite3), same run, {label}",
                reference_value=percentile(_all(timings, "raw_lite"), fraction),
            )
        )
    return rows


# --- replicas behind a round-robin proxy, in webhook mode ---------------------------

WEBHOOK_PATH = "/telegram"
WEBHOOK_SECRET = "bench-scaling-" + "0123456789abcdef" * 2  # 32 to 256 of Telegram's characters
LEADS = "this bot leads the bots on"  # bot.store.leader's line when a bot takes the lead
READY = "webhook mode on"  # bot.telegram.webhook's line once it serves and set the webhook
START = 120.0  # s for a bot to start (a migration of a large store first)


@dataclass
class Replica:
    """One `python -m bot run` in webhook mode, its log in a file."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path
    offset: int  # where this process's lines begin in the log

    def lines(self) -> list[str]:
        with self.log.open("rb") as file:
            file.seek(self.offset)
            return file.read().decode("utf-8", errors="replace").splitlines()

    def leads(self) -> int:
        """How many times this process has taken the lead."""
        return sum(LEADS in line for line in self.lines())


async def start_replica(
    emu: EmulatorProcess,
    folder: Path,
    name: str,
    port: int,
    proxy_url: str,
    settings: dict[str, str],
) -> Replica:
    """A bot serving its webhook on `port`, with the proxy's URL as its webhook URL;
    returned once it serves and has set the webhook."""
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_ENV}
    env.update(
        BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_BASE_URL=emu.base_url,
        WEBHOOK_URL=proxy_url + WEBHOOK_PATH,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
        **settings,
    )
    home = folder / name
    home.mkdir(exist_ok=True)  # cwd: a folder without a .env, so only the settings above apply
    log = folder / f"{name}.log"
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=home, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
        )  # fmt: skip
    replica = Replica(name, port, process, log, offset)
    deadline = time.monotonic() + START
    while not any(READY in line for line in replica.lines()):
        if process.returncode is not None or time.monotonic() > deadline:
            await stop_process(process)
            tail = "\n".join(replica.lines()[-20:])
            raise ProcessFailed(f"{name} did not start serving its webhook:\n{tail}")
        await asyncio.sleep(0.05)
    return replica


@asynccontextmanager
async def proxy_process(folder: Path, ports: Sequence[int]) -> AsyncIterator[str]:
    """`python -m bench.proxy` in front of `ports`; its base URL."""
    log = folder / "proxy.log"
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.proxy", *(str(port) for port in ports), cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=errors,
        )  # fmt: skip
    try:
        yield await announced_url(process, "the proxy", log)
    finally:
        await stop_process(process)


async def proxy_stats(url: str) -> dict[str, dict[str, int]]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/_proxy/stats") as answer:
        found: dict[str, dict[str, int]] = await answer.json()
        return found


@dataclass
class Replicas:
    emu: EmulatorProcess
    folder: Path
    proxy_url: str
    settings: dict[str, str]
    running: list[Replica]

    async def restart(self, replica: Replica) -> Replica:
        """The same replica again (after a kill), on its port, as a new process."""
        await stop_process(replica.process)
        again = await start_replica(
            self.emu, self.folder, replica.name, replica.port, self.proxy_url, self.settings
        )
        self.running[self.running.index(replica)] = again
        return again

    def cpu(self) -> float:
        return sum(cpu_seconds(replica.process.pid) for replica in self.running)


@asynccontextmanager
async def replicas(
    emu: EmulatorProcess, folder: Path, count: int, settings: dict[str, str]
) -> AsyncIterator[Replicas]:
    """`count` bots on one store behind one proxy; the first leads (it starts alone,
    and on PostgreSQL the others start once it has taken the lead)."""
    ports = [postgres.free_port() for _ in range(count)]
    names = [f"replica-{n + 1}" for n in range(count)]
    async with proxy_process(folder, ports) as url:
        group = Replicas(emu, folder, url, settings, [])
        try:
            for number, (name, port) in enumerate(zip(names, ports, strict=True)):
                replica = await start_replica(emu, folder, name, port, url, settings)
                group.running.append(replica)
                if number == 0 and "DATABASE_URL" in settings:
                    await until(lambda r=replica: r.leads() > 0, START, f"{name} to lead")
            yield group
        finally:
            await asyncio.gather(*(stop_process(r.process) for r in group.running))


async def until(check: Any, timeout: float, what: str) -> float:  # noqa: ASYNC109
    """Poll `check()` every 20 ms until true; the seconds it took (ProcessFailed past `timeout`)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise ProcessFailed(f"waited {timeout:g} s for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


# --- command latency -------------------------------------------------------------------


@dataclass
class LatencyRun:
    name: str
    replicas: int
    phase: Phase
    cpu: float  # s of all replicas' CPU during the timed phase
    server_cpu: float  # s of the PostgreSQL server's CPU meanwhile (0 on SQLite)
    transactions: float  # the store's transactions per update (NaN on SQLite)
    taken: dict[str, int]  # updates each replica took from the proxy
    statements: list[Statement]  # where the server's time went (none on SQLite)


async def prepare_store(target: str | Path, users: Sequence[int]) -> None:
    """The users are known to the bot, as returning readers are (as `bench.latency` does)."""
    db = await Database.open(target)
    try:
        now = int(time.time())
        for user in users:
            await chats.save_chat(db, chat_id=user, type="private", title="Reader", now=now)
            target_row = await chats.ensure_target(
                db, user, ui_language="en", timezone="UTC", now=now
            )
            await chats.update_target(db, target_row.id, next_digest_at=reschedule(target_row, now))
    finally:
        await db.close()


async def time_commands(
    options: Options,
    emu: EmulatorProcess,
    folder: Path,
    users: Sequence[int],
    name: str,
    count: int,
    store: dict[str, str],
    server: Server | None = None,
    database: str = "",
) -> LatencyRun:
    """`count` bots behind the proxy answering `options.latency_rate` updates/s from
    distinct users for `options.latency_seconds`, after an untimed warm-up."""
    settings = {**store, "SEND_RATE_PER_SECOND": f"{REPLY_BUDGET:g}"}
    async with replicas(emu, folder, count, settings) as group:
        load = Load(emu, users, group.running[0].process.pid)
        rate = options.latency_rate
        await load.run(rate, min(2.0, options.latency_seconds / 10))  # warm-up, untimed
        before, cpu = await proxy_stats(group.proxy_url), group.cpu()
        serving = server_cpu(server) if server else 0.0
        committed = transactions(server, database) if server else 0
        if server:
            server.execute("SELECT pg_stat_statements_reset()", database)
        phase = await load.run(rate, options.latency_seconds)
        after, cpu = await proxy_stats(group.proxy_url), group.cpu() - cpu
        serving = server_cpu(server) - serving if server else 0.0
        await asyncio.sleep(STATS_DELAY)  # the server's statistics lag behind its work
        committed = transactions(server, database) - committed if server else 0
        statements = top_statements(server, database) if server else []
    taken = {
        replica: after["taken"][port] - before["taken"][port]
        for replica, port in zip(
            (r.name for r in group.running), (str(r.port) for r in group.running), strict=True
        )
    }
    say(options, f"  {name}: p50 {phase.p(0.5):.1f} ms, p99 {phase.p(0.99):.1f} ms")
    per_update = committed / len(phase.posted) if server else float("nan")
    return LatencyRun(name, count, phase, cpu, serving, per_update, taken, statements)


@dataclass(frozen=True)
class Statement:
    text: str  # the start of its normalised text
    calls: int
    mean_ms: float
    share: float  # of the time the server spent running the database's statements


def top_statements(server: Server, database: str, count: int = 5) -> list[Statement]:
    """The statements the server spent most time on since the last reset
    (pg_stat_statements, for `database` alone)."""
    with psycopg.connect(server.url(database), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query, calls, mean_exec_time, total_exec_time,"
            " sum(total_exec_time) OVER () FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND query NOT ILIKE '%%pg_stat_statements%%'"
            " ORDER BY total_exec_time DESC LIMIT %s",
            (count,),
        ).fetchall()
    return [
        Statement(" ".join(str(query).split())[:90], int(calls), float(mean), total / whole)
        for query, calls, mean, total, whole in rows
        if whole
    ]


STATS_DELAY = 1.0  # s: PostgreSQL publishes a backend's counts when idle, within a second


def transactions(server: Server, database: str) -> int:
    """Transactions committed or rolled back in `database` so far (each read on the
    store's reader is one, each write one)."""
    with psycopg.connect(server.url(database), autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


async def latency_rows(options: Options, built: lite.Built, store: Archive) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        folder = Path(tmp)
        async with emulator_process(folder, "--log-limit", "500000", "--history", "4") as emu:
            users = await add_users(emu.client, options.latency_users)
            say(options, f"command latency, {options.latency_rate:g} updates/s, webhook mode")
            path = scratch_copy(built.path, folder)
            await prepare_store(path, users)
            lite_run = await time_commands(
                options, emu, folder, users, "one bot on SQLite", 1, {"DATABASE_PATH": str(path)}
            )
            path.unlink()
            async with scratch_database(store.server, ARCHIVE, "latency") as url:
                await prepare_store(url, users)
                store.server.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", "latency")
                store.server.execute("ALTER DATABASE latency SET pg_stat_statements.track = 'top'")
                where = {"DATABASE_URL": url}
                one = await time_commands(
                    options, emu, folder, users, "one bot on PostgreSQL", 1, where,
                    store.server, "latency",
                )  # fmt: skip
                two = await time_commands(
                    options, emu, folder, users, "two replicas on PostgreSQL", 2, where,
                    store.server, "latency",
                )  # fmt: skip
            errors = await emu.client.protocol_errors()
    if errors:
        raise RuntimeError(f"the bots made invalid requests: {errors[:3]}")
    n = f"{store.articles:,} articles"
    rate = f"{options.latency_rate:g} updates/s"
    rows = []
    for fraction, target in ((0.5, LATENCY_P50), (0.99, LATENCY_P99)):
        label = f"p{round(fraction * 100)}"
        rows.append(
            Row(
                f"command latency, {rate}, {n}, two replicas on PostgreSQL behind a"
                f" round-robin proxy, {label}",
                two.phase.p(fraction),
                "ms",
                reference=f"one replica on PostgreSQL behind the same proxy, same run, {label}",
                reference_value=one.phase.p(fraction),
                target=target,
                detail=_latency_detail([lite_run, one, two], n) if fraction == 0.5 else "",
                note=_latency_note(two, fraction, target),
            )
        )
    for fraction, target in ((0.5, LATENCY_P50), (0.99, LATENCY_P99)):
        label = f"p{round(fraction * 100)}"
        rows.append(
            Row(
                f"command latency, {rate}, {n}, one bot on PostgreSQL (webhook), {label}",
                one.phase.p(fraction),
                "ms",
                reference=f"one bot on SQLite behind the same proxy, same run, {label}",
                reference_value=lite_run.phase.p(fraction),
                target=target,
                note=_latency_note(one, fraction, target),
            )
        )
    return rows


def _latency_note(run: LatencyRun, fraction: float, target: Target) -> str:
    """Why a PostgreSQL configuration missed its latency bound, from its own figures."""
    phase = run.phase
    if target.met(phase.p(fraction)):
        return ""
    posted = len(phase.posted)
    behind = phase.reply_rate < 0.95 * phase.posted_rate
    unanswered = (
        f" ({phase.missing} unanswered {GRACE:g} s after the last)" if phase.missing else ""
    )
    pace = (
        f"replies came at {phase.reply_rate:.1f}/s of the {phase.posted_rate:.1f}/s posted, so"
        f" updates queued behind one another{unanswered}"
        if behind
        else f"replies kept pace ({phase.reply_rate:.1f}/s) but waited"
    )
    serving = run.server_cpu / posted * 1000
    per_bot = run.server_cpu / phase.seconds / run.replicas if phase.seconds else float("nan")
    top = run.statements[0] if run.statements else None
    what = (
        "the search statement (its plans: the search rows above)"
        if top and SEARCH in top.text
        else f"{top.text[:60]}…"
        if top
        else ""
    )
    spent = (
        f"; {top.share:.0%} of the time its statements ran went to {what},"
        f" {top.mean_ms:.1f} ms a call"
        if top
        else ""
    )
    name = run.name[0].upper() + run.name[1:]
    return (
        f"{name}, {run.phase.rate:g} updates/s: {pace}. The server spent {serving:.1f} ms of"
        f" CPU per update (the bots {run.cpu / posted * 1000:.1f} ms, in"
        f" {run.transactions:.1f} transactions){spent}. That is {per_bot:.0%} of a core per"
        " bot; a bot's reads overlap on up to READERS connections (bot/store/postgres.py),"
        " and the server shares this machine's cores with the bots, the emulator and the"
        " load. What would close it, to be measured here before and after: less server"
        " work per update (the statements in the details), or a server with cores of its own."
    )


def _latency_detail(runs: Sequence[LatencyRun], n: str) -> str:
    lines = [
        f"{'':<27} {'updates':>7} {'missing':>7} {'replies/s':>9} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'max ms':>7} {'CPU ms/update: bots':>19} {'server':>6} {'xacts/update':>12}"
        "  updates per replica",
    ]
    for run in runs:
        phase = run.phase
        cpu = run.cpu / max(1, len(phase.posted)) * 1000
        serving = run.server_cpu / max(1, len(phase.posted)) * 1000
        shares = ", ".join(f"{count:,}" for count in run.taken.values())
        lines.append(
            f"{run.name:<27} {len(phase.posted):>7,} {phase.missing:>7} {phase.reply_rate:>9.1f}"
            f" {phase.p(0.5):>7.1f} {phase.p(0.99):>7.1f} {phase.p(1.0):>7.1f} {cpu:>19.1f}"
            f" {serving:>6.1f} {run.transactions:>12.1f}  {shares}"
        )
    for run in runs:
        if run.statements:
            lines.append(f"{run.name}, the server's time by statement (pg_stat_statements):")
            lines += [
                f"  {st.share:>4.0%} {st.calls:>6,} × {st.mean_ms:>7.2f} ms  {st.text}"
                for st in run.statements
            ]
    for run in runs:
        lines.append(f"{run.name}, by command:")
        kinds = sorted(set(run.phase.kinds), key=lambda k: (k != "text", k))
        for kind in kinds:
            samples = [
                lat
                for lat, k in zip(run.phase.latencies, run.phase.kinds, strict=True)
                if k == kind
            ]
            lines.append(
                f"  {kind:<9} {len(samples):>6} p50 {percentile(samples, 0.5) * 1000:>7.1f}"
                f"  p99 {percentile(samples, 0.99) * 1000:>7.1f} ms"
            )
    lines.append(
        f"Each configuration on the same {n} archive (SQLite: a copy of the cached file;"
        " PostgreSQL: a copy of the copied database), every bot `python -m bot run` in"
        " webhook mode behind `python -m bench.proxy` (round robin; the emulator pushes"
        f" each update to it), SEND_RATE_PER_SECOND={REPLY_BUDGET:g}, emulator flood limits"
        f" off, updates from {len(runs[0].phase.posted):,} posts over distinct users as"
        " bench.latency does; latency from just before an update is posted to the"
        " emulator's record of the reply. replies/s: while they came (below the posting rate:"
        " the bots fell behind). CPU: all the configuration's bots together, and the"
        " PostgreSQL server's processes; xacts: the store's transactions (pg_stat_database)"
        " per update, each read on a reader connection of the store being one."
    )
    return "\n".join(lines)


# --- fan-out and failover with two replicas ---------------------------------------------

FAILOVER_TRIALS = 3
FAILOVER_TARGET = Target("<=", 15.0, "s")
FAILOVER_WAIT = 60.0  # s: a trial past this counts as this


@dataclass(frozen=True)
class Trial:
    outbox: float  # s from the kill to the first outbox message the survivor sent
    leads: float  # s from the kill until the survivor's log said it leads
    reply: float  # s from the kill to the reply to a command posted right after it


async def first_send(client: EmulatorClient, since: int, chat: int, timeout: float) -> float:  # noqa: ASYNC109
    """The emulator's time of the first accepted sendMessage to `chat` after request
    `since` (NaN if none within `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in await client.requests(since=since, method="sendMessage"):
            if record["status"] == 200 and int(record["params"]["chat_id"]) == chat:
                return float(record["at"])
        await asyncio.sleep(0.05)
    return float("nan")


async def failover(
    group: Replicas, url: str, chats_for: Sequence[int], users: Sequence[int]
) -> list[Trial]:
    """Kill -9 the leader; queue a message (as a broadcast would) and post a command
    at once; when does the other send? Then restart the killed one as a follower."""
    client = group.emu.client
    trials: list[Trial] = []
    db = await Database.open(url)
    try:
        leader = group.running[0]
        for number in range(FAILOVER_TRIALS):
            survivor = next(r for r in group.running if r is not leader)
            leads_before = survivor.leads()
            since = (await client.stats())["requests"]
            chat, user = chats_for[number], users[number]
            killed_at = time.time()
            leader.process.kill()
            await outbox.enqueue(
                db, [NewMessage.text(chat, f"After the kill, {number + 1}", kind="notice")]
            )
            await notices_for(db).notify(Doorbell.CHANNEL)
            await client.send_user_message(user, user, "/help")
            led, sent, replied = await asyncio.gather(
                _led(survivor, leads_before),
                first_send(client, since, chat, FAILOVER_WAIT),
                first_send(client, since, user, FAILOVER_WAIT),
            )
            trials.append(Trial(sent - killed_at, led - killed_at, replied - killed_at))
            await group.restart(leader)
            leader = survivor
    finally:
        await db.close()
    return trials


async def _led(replica: Replica, before: int) -> float:
    """When (time.time()) `replica`'s log first says it leads after `before` leads."""
    try:
        await until(lambda: replica.leads() > before, FAILOVER_WAIT, f"{replica.name} to lead")
    except ProcessFailed:
        return float("nan")
    return time.time()


@dataclass(frozen=True)
class FanOutRun:
    fanned: fanout.FanOut
    subscribers: list[int]
    taken: dict[str, int]
    trials: list[Trial]
    quiet: list[float]  # s: /latest replies on the two replicas before the fan-out
    sent: int  # messages the bot sent while the fan-out ran, its readers' replies too

    @property
    def span(self) -> float:
        return self.fanned.deliveries[-1] - self.fanned.deliveries[0]

    @property
    def rate(self) -> float:
        """Every message the bot sent a second while the fan-out ran: Telegram's 30 a
        second are the bot's, readers' replies and the fan-out's alike."""
        return (self.sent - 1) / self.span if self.span > 0 else 0.0


async def replicas_run(options: Options, server: Server) -> FanOutRun:
    """Two replicas on one fresh PostgreSQL store (the bundled sample, N instant
    subscribers): one breaking article fanned out while other users send /latest
    through the proxy, then the failover trials on the same pair."""
    size = min(options.fanout_subscribers)
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        folder = Path(tmp)
        log_limit = str(4 * size + 10_000)
        async with emulator_process(folder, "--limits", "--log-limit", log_limit) as emu:
            client = emu.client
            admin = int((await client.add_user("Admin", language_code="en"))["id"])
            probe_users = await add_users(client, fanout.PROBE_USERS)
            subscribers = await add_users(client, size)
            feed_url = await client.publish_feed(fanout.FEED, fanout.story(0))
            server.execute("DROP DATABASE IF EXISTS fanout")
            server.execute("CREATE DATABASE fanout")
            url = server.url("fanout")
            try:
                bot_settings = Settings(  # type: ignore[call-arg]
                    _env_file=None,
                    database_url=url,
                    feeds_path=folder / "no-feeds.toml",
                    admin_ids=[admin],
                )
                await fanout.prepare(bot_settings, subscribers, feed_url, admin)
                await client.publish_feed(fanout.FEED, fanout.story(0))
                settings = {
                    "DATABASE_URL": url,
                    "ADMIN_IDS": str(admin),
                    "FEEDS_PATH": str(folder / "no-feeds.toml"),
                    "FEED_ALLOWED_HOSTS": "127.0.0.1",
                }
                async with replicas(emu, folder, 2, settings) as group:
                    for _ in group.running:  # round robin: each replica imports the parser
                        await fanout.warm_up(client, admin)
                    probes = fanout.Probes(client, probe_users)
                    quiet, _ = await fanout.quiet_replies(probes, client)
                    say(options, f"one new article to {size:,} instant subscribers, two replicas")
                    before = await proxy_stats(group.proxy_url)
                    since = (await client.stats())["requests"]
                    fanned = await fanout.fan_out(
                        emu, group.running[0].process.pid, 1, subscribers, admin, probes
                    )
                    after = await proxy_stats(group.proxy_url)
                    sent = _sent_between(
                        await client.requests(since=since, method="sendMessage"),
                        fanned.deliveries[0] if fanned.deliveries else 0.0,
                        fanned.deliveries[-1] if fanned.deliveries else 0.0,
                    )
                    say(
                        options,
                        f"  {fanned.rate:.2f} msg/s, {fanned.flood_429} × 429, at most"
                        f" {fanned.most_in_a_second} in a second",
                    )
                    say(options, f"failover: kill -9 of the leader, {FAILOVER_TRIALS} times")
                    trials = await failover(group, url, subscribers, probe_users)
                    for trial in trials:
                        say(options, f"  first outbox message {trial.outbox:.2f} s after the kill")
                    taken = {
                        r.name: after["taken"][str(r.port)] - before["taken"][str(r.port)]
                        for r in group.running
                    }
                errors = await client.protocol_errors()
            finally:
                server.execute("DROP DATABASE IF EXISTS fanout WITH (FORCE)")
    if errors:
        raise RuntimeError(f"the bots made invalid requests: {errors[:3]}")
    return FanOutRun(fanned, subscribers, taken, trials, quiet, sent)


def _sent_between(records: Sequence[dict[str, Any]], first: float, last: float) -> int:
    """Messages Telegram accepted from `first` to `last` (the emulator's clock)."""
    return sum(1 for r in records if r["status"] == 200 and first <= float(r["at"]) <= last)


def fanout_rows(run: FanOutRun) -> list[Row]:
    fanned = run.fanned
    name = (
        f"fan-out, 1 article to {fanned.subscribers:,} instant subscribers, two replicas on"
        " PostgreSQL"
    )
    shares = ", ".join(f"{name} {count}" for name, count in run.taken.items())
    detail = "\n".join(
        [
            f"{len(fanned.deliveries):,} deliveries in {run.span:.1f} s ({fanned.rate:.2f}/s),"
            f" the first {fanned.first:.2f} s after /ingest was posted; {run.sent:,} messages"
            f" sent in that time, readers' replies included ({run.rate:.2f}/s: the rate above);"
            f" {fanned.flood_429} × 429, {fanned.twice} twice,"
            f" {fanned.missed(run.subscribers)} missed.",
            f"Meanwhile {len(fanned.replies)} /latest from {fanout.PROBE_USERS} other users,"
            f" one every {fanout.PROBE_GAP:g} s, through the proxy ({shares} updates each,"
            f" the admin's /ingest included): reply p50 {_ms(fanned.replies, 0.5):.0f} ms,"
            f" p99 {_ms(fanned.replies, 0.99):.0f} ms, {fanned.probes_missing} missing.",
            "Two `python -m bot run` in webhook mode on one PostgreSQL store (the bundled"
            " sample archive) behind `python -m bench.proxy`; the emulator enforces Telegram's"
            " flood limits; SEND_RATE_PER_SECOND at its default.",
        ]
    )
    slow = run.rate < fanout.RATIO_TARGET.bound * fanout.TELEGRAM_RATE
    rate = Row(
        figure=f"{name}: messages sent a second, readers' replies included, Telegram's"
        " limits enforced",
        note=f"{run.rate:.2f} msg/s in all ({fanned.rate:.2f} to the subscribers) with the"
        f" leader's CPU at {fanned.bot_cpu:.1f} s over the run: the limiter waits a second"
        " after the answer to the message 30 grants before, so each window of 30 lasts a"
        " second plus a round trip and the event loop's lateness; a slower loop (a busy"
        " machine) lengthens it. Only the leader sends (the follower's replies pass through"
        " its limiter too), so the pace is one bot's."
        if slow
        else "",
        value=run.rate,
        unit="msg/s",
        reference="Telegram's limit",
        reference_value=fanout.TELEGRAM_RATE,
        ratio_target=fanout.RATIO_TARGET,
        detail=detail,
    )
    return [
        rate,
        Row(f"{name}: 429 answers", fanned.flood_429, "", target=fanout.NONE_TARGET),
        Row(
            f"{name}: subscribers reached twice or not at all",
            fanned.twice + fanned.missed(run.subscribers),
            "",
            target=fanout.NONE_TARGET,
        ),
        Row(
            f"{name}: most messages in any one second (emulator's log)",
            fanned.most_in_a_second,
            "",
            reference="Telegram's limit",
            reference_value=fanout.TELEGRAM_RATE,
            target=fanout.WINDOW_TARGET,
        ),
        Row(
            f"reply latency during that fan-out ({fanout.PROBE} through the proxy), p99",
            _ms(fanned.replies, 0.99),
            "ms",
            reference="the same on the two replicas before it",
            reference_value=_ms(run.quiet, 0.99),
            target=fanout.REPLY_P99_TARGET,
        ),
    ]


def _ms(latencies: Sequence[float], fraction: float) -> float:
    return percentile(list(latencies), fraction) * 1000 if latencies else float("nan")


def failover_rows(trials: Sequence[Trial]) -> list[Row]:
    times = [t.outbox if t.outbox == t.outbox else FAILOVER_WAIT for t in trials]
    detail = "\n".join(
        [
            f"{'trial':<6} {'outbox message s':>16} {'lead logged s':>14} {'reply to /help s':>17}",
            *(
                f"{n + 1:<6} {t.outbox:>16.2f} {t.leads:>14.2f} {t.reply:>17.2f}"
                for n, t in enumerate(trials)
            ),
            "Seconds after kill -9 of the leading replica (two in webhook mode on one"
            " PostgreSQL store behind the round-robin proxy): the first message the other"
            " sent from the outbox (a notice queued right after the kill, as a broadcast"
            " queues its messages; only the leader sends the outbox), when its log said it"
            " leads, and the reply to a /help posted right after the kill (the proxy passes"
            " the dead replica over). The killed replica is started again as a follower"
            " before the next trial, which kills the new leader.",
        ]
    )
    label = "failover, kill -9 of the leading replica to the other's first outbox message"
    return [
        Row(
            f"{label}, median of {len(trials)}",
            statistics.median(times),
            "s",
            target=FAILOVER_TARGET,
            detail=detail,
        ),
        Row(f"{label}, max of {len(trials)}", max(times), "s", target=FAILOVER_TARGET),
    ]


# --- the benchmark ------------------------------------------------------------------


async def run(options: Options) -> list[Row]:
    built = await lite.database(options)
    store = await archive(options, built)
    try:
        rows = await search_rows(options, built, store)
        rows += await latency_rows(options, built, store)
        fanned = await replicas_run(options, store.server)
    finally:
        store.server.stop()
    return rows + fanout_rows(fanned) + failover_rows(fanned.trials)
