"""Search as the bot and the CLI use it: parse, resolve topics, query, excerpt."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import bot.metrics as metrics
from bot.numbers import whole_number
from bot.search.named import topics_named
from bot.search.query import ParsedQuery, QueryError, QueryProblem, parse_query
from bot.search.snippet import Segment, make_snippet
from bot.search.versions import one_per_story
from bot.store import articles
from bot.store.db import Database, OverBudget
from bot.topics import Catalogue

PAGE_SIZE = 5
MAX_RESULTS = 200
"""Results reachable by paging (More, inline scrolling): a deep page would make
SQLite step over every result before it with OFFSET."""
MAX_OFFSET_BYTES = 64  # Telegram's limit on an inline answer's next_offset


def page_from_offset(offset: str) -> int:
    """A page number from a paging token (an inline query's offset): ASCII digits
    only — `'²'.isdigit()` is true, yet `int('²')` raises — else the first page.
    A page out of reach is still a number: `find` answers it with nothing."""
    page = whole_number(offset) if len(offset) <= MAX_OFFSET_BYTES else None
    return page or 0


def page_in_reach(page: int, page_size: int) -> bool:
    """Whether a page starts within the first MAX_RESULTS results."""
    return page >= 0 and page * page_size < MAX_RESULTS


def more_after(page: int, page_size: int, has_more: bool) -> bool:
    """Whether to offer the page after this one."""
    return has_more and page_in_reach(page + 1, page_size)


@dataclass(frozen=True)
class Hit:
    article: articles.Article
    snippet: list[Segment]


@dataclass(frozen=True)
class SearchResult:
    text: str
    page: int
    hits: list[Hit] = field(default_factory=list)
    has_more: bool = False
    problem: QueryProblem | None = None
    unknown_topic: str | None = None
    topics: tuple[str, ...] = ()  # slugs of the topics the query names (search.named)


async def find(
    db: Database,
    catalogue: Catalogue,
    text: str,
    *,
    page: int = 0,
    page_size: int = PAGE_SIZE,
    budget: float | None = None,
    prefer: str | None = None,
) -> SearchResult:
    """One page of results for what a person typed; problems are answers, not errors.

    With `prefer` (the reader's language, `versions.reading_language`) a paired
    story is one result, its version in that language (a `lang:` in the query
    prefers that language), linking the other (`bot.search.versions`).

    `budget` (seconds) bounds the time the database spends on it: past it the
    answer is the TOO_BROAD problem and the database is free for the next one.
    Pages past MAX_RESULTS are empty. Its time goes to the search duration metric,
    whatever the answer."""
    started = time.perf_counter()
    try:
        return await _find(
            db, catalogue, text, page=page, page_size=page_size, budget=budget, prefer=prefer
        )
    finally:
        metrics.SEARCH_DURATION.observe(time.perf_counter() - started)


async def _find(
    db: Database,
    catalogue: Catalogue,
    text: str,
    *,
    page: int,
    page_size: int,
    budget: float | None,
    prefer: str | None,
) -> SearchResult:
    try:
        query = parse_query(text)
    except QueryError as exc:
        return SearchResult(text, page, problem=exc.problem)
    if not page_in_reach(page, page_size):
        return SearchResult(text, page)
    slugs = []
    for name in query.topics:
        topic = catalogue.resolve(name)
        if topic is None:
            return SearchResult(text, page, problem=QueryProblem.UNKNOWN_TOPIC, unknown_topic=name)
        slugs.append(topic.slug)
    try:
        found = await articles.search(
            db,
            query.text_match(),
            topics=slugs,
            language=query.language,
            limit=page_size + 1,
            offset=page * page_size,
            budget=budget,
            prefer=prefer,
        )
    except OverBudget:
        return SearchResult(text, page, problem=QueryProblem.TOO_BROAD)
    shown = await _one_per_story(db, found[:page_size], query.language or prefer)
    return SearchResult(
        text,
        page,
        hits=[_hit(article, query) for article in shown],
        has_more=more_after(page, page_size, len(found) > page_size),
        topics=topics_named(query, catalogue),
    )


async def newest(
    db: Database,
    *,
    topics: Sequence[str] = (),
    page: int = 0,
    page_size: int = PAGE_SIZE,
    budget: float | None = None,
    prefer: str | None = None,
) -> SearchResult:
    """One page of the newest articles (/latest, a topic's view, an empty inline
    query), in every language and paged like `find`: the counts /topics shows
    are of the same articles, so a topic's pages hold as many as its count says
    (a paired story counts once there too). `prefer`: as for `find`.
    """
    if not page_in_reach(page, page_size):
        return SearchResult("", page)
    try:
        found = await articles.latest(
            db,
            topics=topics,
            limit=page_size + 1,
            offset=page * page_size,
            budget=budget,
            prefer=prefer,
        )
    except OverBudget:
        return SearchResult("", page, problem=QueryProblem.TOO_BROAD)
    shown = await _one_per_story(db, found[:page_size], prefer)
    return SearchResult(
        "",
        page,
        hits=[Hit(article, []) for article in shown],
        has_more=more_after(page, page_size, len(found) > page_size),
    )


async def _one_per_story(
    db: Database, found: list[articles.Article], prefer: str | None
) -> list[articles.Article]:
    """A page as the reader sees it; as stored when no language is preferred."""
    return found if prefer is None else await one_per_story(db, found, prefer)


def _hit(article: articles.Article, query: ParsedQuery) -> Hit:
    stems, prefixes = query.highlight_stems(), query.highlight_prefixes()
    snippet = make_snippet(article.summary, stems, prefixes)
    return Hit(article, snippet)
