"""Search as the bot and the CLI use it: parse, resolve topics, query, excerpt."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.ingest.topics import Catalogue
from bot.search.query import ParsedQuery, QueryError, QueryProblem, parse_query
from bot.search.snippet import Segment, make_snippet
from bot.store import articles
from bot.store.db import Database

PAGE_SIZE = 5


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


async def find(
    db: Database, catalogue: Catalogue, text: str, *, page: int = 0, page_size: int = PAGE_SIZE
) -> SearchResult:
    """One page of results for what a person typed; problems are answers, not errors."""
    try:
        query = parse_query(text)
    except QueryError as exc:
        return SearchResult(text, page, problem=exc.problem)
    slugs = []
    for name in query.topics:
        topic = catalogue.resolve(name)
        if topic is None:
            return SearchResult(text, page, problem=QueryProblem.UNKNOWN_TOPIC, unknown_topic=name)
        slugs.append(topic.slug)
    found = await articles.search(
        db,
        query.fts(),
        in_title=query.fts_in_title(),
        topics=slugs,
        language=query.language,
        limit=page_size + 1,
        offset=max(page, 0) * page_size,
    )
    return SearchResult(
        text,
        page,
        hits=[_hit(article, query) for article in found[:page_size]],
        has_more=len(found) > page_size,
    )


def _hit(article: articles.Article, query: ParsedQuery) -> Hit:
    stems, prefixes = query.highlight_stems(), query.highlight_prefixes()
    snippet = make_snippet(article.summary, stems, prefixes)
    return Hit(article, snippet)
