"""Choosing and grouping a digest's articles (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from bot.digest.select import Group, select
from bot.store.subscriptions import Subscription

ORDER = ["migration", "government", "security", "economy"]


@dataclass(frozen=True)
class Item:
    id: int
    topics: tuple[str, ...]
    language: str = "en"
    published_at: int = 0


def topic(value: str) -> Subscription:
    return Subscription(0, 1, "topic", value)


def query(value: str) -> Subscription:
    return Subscription(0, 1, "query", value)


def test_groups_follow_catalogue_order_and_articles_are_newest_first() -> None:
    items = [
        Item(1, ("security",), published_at=100),
        Item(2, ("migration",), published_at=300),
        Item(3, ("migration",), published_at=200),
        Item(4, ("economy",), published_at=400),
    ]
    chosen = select(
        items,
        [topic("security"), topic("migration")],
        article_language=None,
        keyword_matches={},
        topic_order=ORDER,
    )
    assert chosen.groups == (Group("migration", (2, 3)), Group("security", (1,)))


def test_an_article_appears_once_under_its_first_followed_topic() -> None:
    items = [Item(1, ("migration", "government", "security"))]
    chosen = select(
        items,
        [topic("security"), topic("government"), query("border")],
        article_language=None,
        keyword_matches={"border": {1}},
        topic_order=ORDER,
    )
    assert chosen.groups == (Group("government", (1,)),)
    assert chosen.article_ids == [1]


def test_keyword_only_matches_come_last_named_after_their_keywords() -> None:
    items = [
        Item(1, ("economy",), published_at=10),
        Item(2, (), published_at=30),
        Item(3, ("migration",), published_at=20),
    ]
    chosen = select(
        items,
        [topic("migration"), query("wall"), query("peso"), query("unused")],
        article_language=None,
        keyword_matches={"peso": {1}, "wall": {2, 3}, "unused": set()},
        topic_order=ORDER,
    )
    assert chosen.groups == (
        Group("migration", (3,)),
        Group(None, (2, 1), ("wall", "peso")),
    )


def test_the_language_filter_applies_to_every_group() -> None:
    items = [Item(1, ("migration",), "es"), Item(2, ("migration",), "en"), Item(3, (), "es")]
    chosen = select(
        items,
        [topic("migration"), query("x")],
        article_language="es",
        keyword_matches={"x": {2, 3}},
        topic_order=ORDER,
    )
    assert chosen.article_ids == [1, 3]


def test_nothing_followed_matches_gives_an_empty_selection() -> None:
    chosen = select(
        [Item(1, ("economy",))],
        [topic("migration")],
        article_language=None,
        keyword_matches={},
        topic_order=ORDER,
    )
    assert not chosen
    assert chosen.article_ids == []


@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from(ORDER), unique=True), st.integers(0, 50)),
        max_size=30,
    ),
    st.lists(st.sampled_from(ORDER), unique=True),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sets(st.integers(1, 30))),
)
def test_each_matching_article_exactly_once(
    raw: list[tuple[list[str], int]],
    followed: list[str],
    keywords: dict[str, set[int]],
) -> None:
    items = [Item(i, tuple(topics), published_at=at) for i, (topics, at) in enumerate(raw, 1)]
    subs = [topic(slug) for slug in followed] + [query(text) for text in keywords]
    chosen = select(items, subs, article_language=None, keyword_matches=keywords, topic_order=ORDER)
    expected = {
        item.id
        for item in items
        if set(item.topics) & set(followed) or any(item.id in ids for ids in keywords.values())
    }
    assert sorted(chosen.article_ids) == sorted(expected)
    assert len(chosen.article_ids) == len(set(chosen.article_ids))
    by_id = {item.id: item for item in items}
    for group in chosen.groups:
        times = [(by_id[i].published_at, i) for i in group.article_ids]
        assert times == sorted(times, reverse=True)
