"""Which new articles a target's digest holds, in which groups and order.

Pure: the store has already found, for each keyword subscription, which new
articles match it; this module only combines those facts with the target's
topics and language filter.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
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


class Index:
    """`select` for every target of one run, over one window of new articles.

    A run serves thousands of targets from the same few hundred articles, and
    `select` walks all of them for each target. Here the window is sorted
    newest first once, each article's topics become a bit mask, and each
    keyword's matches a sorted list of positions: a target's topic groups are
    then shared by every target that follows the same topics in the same
    language from the same cursor, and its keyword group costs what its
    keywords match. The result equals `select`'s for the same inputs (a test
    compares them on random populations).

    `news_from` gives, for a paired story's earlier version, the id below
    which a cursor has not had the story (`bot.search.versions`): such an
    article is selected for cursors below that, not only below its own id.
    """

    _TOPIC_GROUPS_KEPT = 4_096  # distinct (topics followed, language, cursor) combinations

    def __init__(
        self,
        articles: Iterable[Candidate],
        topic_order: Sequence[str],
        *,
        news_from: Callable[[int], int] | None = None,
    ) -> None:
        self._rank = {slug: position for position, slug in enumerate(topic_order)}
        ordered = sorted(articles, key=lambda article: (-article.published_at, -article.id))
        self._ids = [article.id for article in ordered]
        self._news = self._ids if news_from is None else [news_from(i) for i in self._ids]
        self._languages = [article.language for article in ordered]
        self._position = {article_id: p for p, article_id in enumerate(self._ids)}
        self._bits: dict[str, int] = {}
        self._masks = [self._mask(article.topics, add=True) for article in ordered]
        self._topic_groups: dict[tuple[tuple[str, ...], str | None, int], tuple[Group, ...]] = {}
        self._matched: dict[str, list[int]] = {}  # per query text

    def _mask(self, slugs: Iterable[str], *, add: bool = False) -> int:
        mask = 0
        for slug in slugs:
            bit = self._bits.get(slug)
            if bit is None:
                if not add:
                    continue  # no article of the window has it
                bit = self._bits[slug] = 1 << len(self._bits)
            mask |= bit
        return mask

    def select(
        self,
        subscriptions: Sequence[Subscription],
        *,
        article_language: str | None,
        keyword_matches: Mapping[str, Collection[int]],
        after_id: int = 0,
    ) -> Selection:
        """What `select(articles with id (or `news_from`) > after_id, …)` gives,
        `topic_order` being the index's. `keyword_matches` must map a query to the same ids every
        time it is asked within one index's life (one run's window)."""
        followed = tuple(
            sorted(
                {sub.value for sub in subscriptions if sub.kind == "topic"},
                key=lambda slug: (self._rank.get(slug, len(self._rank)), slug),
            )
        )
        groups = self._groups_for_topics(followed, article_language, after_id)
        queries = list(dict.fromkeys(sub.value for sub in subscriptions if sub.kind == "query"))
        if queries:
            keyword_group = self._keyword_group(
                queries, self._mask(followed), article_language, after_id, keyword_matches
            )
            if keyword_group is not None:
                groups = (*groups, keyword_group)
        return Selection(groups)

    def _groups_for_topics(
        self, followed: tuple[str, ...], language: str | None, after_id: int
    ) -> tuple[Group, ...]:
        """The topic groups, each article under the first followed topic it has;
        shared by the run's targets with the same topics, language and cursor."""
        key = (followed, language, after_id)
        found = self._topic_groups.get(key)
        if found is not None:
            return found
        ids, news, languages, masks = self._ids, self._news, self._languages, self._masks
        groups: list[Group] = []
        earlier = 0
        for slug in followed:
            bit = self._bits.get(slug, 0)
            if bit:
                chosen = tuple(
                    ids[p]
                    for p, mask in enumerate(masks)
                    if mask & bit
                    and not mask & earlier
                    and (language is None or languages[p] == language)
                    and news[p] > after_id
                )
                if chosen:
                    groups.append(Group(slug, chosen))
                earlier |= bit
        found = tuple(groups)
        if len(self._topic_groups) >= self._TOPIC_GROUPS_KEPT:
            self._topic_groups.clear()  # bounded: an unusual population only recomputes
        self._topic_groups[key] = found
        return found

    def _positions(self, query: str, keyword_matches: Mapping[str, Collection[int]]) -> list[int]:
        """Positions (newest first) of a query's matches within the window."""
        found = self._matched.get(query)
        if found is None:
            position = self._position
            matched = keyword_matches.get(query, ())
            found = sorted(position[i] for i in matched if i in position)
            self._matched[query] = found
        return found

    def _keyword_group(
        self,
        queries: list[str],
        followed: int,
        language: str | None,
        after_id: int,
        keyword_matches: Mapping[str, Collection[int]],
    ) -> Group | None:
        """Articles only the keywords matched: none of the followed topics'."""
        ids, news, languages, masks = self._ids, self._news, self._languages, self._masks
        lists = [self._positions(query, keyword_matches) for query in queries]
        candidates = lists[0] if len(lists) == 1 else sorted(set().union(*lists))
        kept = [
            p
            for p in candidates
            if not masks[p] & followed
            and (language is None or languages[p] == language)
            and news[p] > after_id
        ]
        if not kept:
            return None
        if len(lists) == 1:
            keywords = tuple(queries)
        else:
            kept_set = set(kept)
            keywords = tuple(
                query
                for query, positions in zip(queries, lists, strict=True)
                if not kept_set.isdisjoint(positions)
            )
        return Group(None, tuple(ids[p] for p in kept), keywords)
