"""Which new articles a target's digest holds, in which groups and order.

Pure: the store has already found, for each keyword subscription, which new
articles match it; this module only combines those facts with the target's
topics and language filter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.store.subscriptions import Subscription


class Candidate(Protocol):
    """What selection needs to know of an article (`articles.Article` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def topics(self) -> tuple[str, ...]: ...
    @property
    def language(self) -> str: ...
    @property
    def published_at(self) -> int: ...


@dataclass(frozen=True)
class Group:
    """A heading and its articles (ids, newest first). `topic` is a slug, or None
    for the final group of articles only keyword subscriptions matched."""

    topic: str | None
    article_ids: tuple[int, ...]
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Selection:
    groups: tuple[Group, ...] = ()

    def __bool__(self) -> bool:
        return any(group.article_ids for group in self.groups)

    @property
    def article_ids(self) -> list[int]:
        """Every selected id in reading order (groups in order, newest first)."""
        return [article_id for group in self.groups for article_id in group.article_ids]

    def __len__(self) -> int:
        return sum(len(group.article_ids) for group in self.groups)


def _ids_newest_first(articles: list[Candidate]) -> tuple[int, ...]:
    articles.sort(key=lambda article: (-article.published_at, -article.id))
    return tuple(article.id for article in articles)


def select(
    articles: Iterable[Candidate],
    subscriptions: Sequence[Subscription],
    *,
    article_language: str | None,
    keyword_matches: Mapping[str, Collection[int]],
    topic_order: Sequence[str],
) -> Selection:
    """The digest's articles, each once.

    An article goes under the first of its topics (in `topic_order`, the
    catalogue's order) that the target follows; articles that only keyword
    subscriptions matched go last, under those keywords. `keyword_matches`
    maps a query subscription's value to the ids it matches; a query missing
    from it matches nothing.
    """
    rank = {slug: position for position, slug in enumerate(topic_order)}
    followed = sorted(
        {sub.value for sub in subscriptions if sub.kind == "topic"},
        key=lambda slug: (rank.get(slug, len(rank)), slug),
    )
    followed_set = frozenset(followed)
    queries = list(dict.fromkeys(sub.value for sub in subscriptions if sub.kind == "query"))
    matched: set[int] = set()
    for query in queries:
        matched.update(keyword_matches.get(query, ()))
    by_topic: dict[str, list[Candidate]] = {}
    by_keyword: list[Candidate] = []
    keywords_used: set[str] = set()
    # Most new articles match nothing: the set tests reject them cheaply, and
    # only what is kept gets sorted.
    for article in articles:
        if article_language is not None and article.language != article_language:
            continue
        if not followed_set.isdisjoint(article.topics):
            first = next(slug for slug in followed if slug in article.topics)
            by_topic.setdefault(first, []).append(article)
        elif article.id in matched:
            by_keyword.append(article)
            keywords_used.update(q for q in queries if article.id in keyword_matches.get(q, ()))
    groups = [
        Group(slug, _ids_newest_first(by_topic[slug])) for slug in followed if slug in by_topic
    ]
    if by_keyword:
        keywords = tuple(query for query in queries if query in keywords_used)
        groups.append(Group(None, _ids_newest_first(by_keyword), keywords))
    return Selection(tuple(groups))
