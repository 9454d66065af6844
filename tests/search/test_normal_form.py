"""One text for every way of writing a search: what a subscription is stored as."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import DATA_DIR
from bot.search.follow import means_all, normal_query, to_follow, to_stop_following
from bot.search.query import QueryError, QueryProblem, normal_form, parse_query
from bot.topics import load_catalogue

CATALOGUE = load_catalogue(DATA_DIR / "topics.toml")
PIECES = st.sampled_from(
    [
        "Juárez",
        "ciudad",
        "the",
        "-war",
        "migra*",
        '"ciudad juarez"',
        "topic:video",
        "lang:es",
        "Ñandú",
        "de",
        "-revolu*",
        "x_y",
        "lang:EN",
        '"a b',
        "niño",
        'topic:"derechos de las"',
    ]
)


@pytest.mark.parametrize(
    ("spellings", "normal"),
    [
        (
            ["Ciudad Juárez", "ciudad juarez", "juarez CIUDAD", "the ciudad, juárez juarez"],
            "ciudad juarez",
        ),
        (['"Ciudad Juárez"', '"ciudad  juarez"'], '"ciudad juarez"'),
        (['"juarez ciudad"'], '"juarez ciudad"'),  # a phrase keeps its order
        (["peace -war", "-WAR peace", "peace -war -war"], "peace -war"),
        (["Revolu* migra*", "migra* revolu*"], "migra* revolu*"),
        (["juarez lang:es", "lang:español juarez", "idioma:ES Juárez"], "juarez lang:es"),
        (
            ["juarez topic:Migración", "topic:migration juarez", "tema:migracion juarez"],
            "juarez topic:migration",
        ),
        (["the"], "the"),  # only stop words: they are the search
    ],
)
def test_every_spelling_has_one_normal_form(spellings: list[str], normal: str) -> None:
    for text in spellings:
        assert to_follow(CATALOGUE, text) == ("query", normal), text
        assert normal_query(CATALOGUE, text) == normal


def test_a_topic_named_plainly_is_the_topic_and_an_exclusion_is_refused() -> None:
    assert to_follow(CATALOGUE, "Vídeo") == ("topic", "video")
    with pytest.raises(QueryError) as refused:
        to_follow(CATALOGUE, "-video")
    assert refused.value.problem is QueryProblem.ONLY_EXCLUDED
    with pytest.raises(QueryError) as unknown:
        to_follow(CATALOGUE, "juarez topic:nowhere")
    assert (unknown.value.problem, unknown.value.topic) == (QueryProblem.UNKNOWN_TOPIC, "nowhere")
    # /unsubscribe looks for what /subscribe refuses as written: stored before a rule.
    assert to_stop_following(CATALOGUE, "-video") == ("query", "-video")
    assert normal_query(CATALOGUE, "juarez topic:nowhere") == "juarez topic:nowhere"


def test_a_normal_form_folding_makes_too_long_is_refused_as_too_long() -> None:
    text = "ﬃ" * 120  # one letter typed, three once folded: 360 > MAX_QUERY_CHARS
    parse_query(text)
    with pytest.raises(QueryError) as refused:
        to_follow(CATALOGUE, text)
    assert refused.value.problem is QueryProblem.TOO_LONG
    assert normal_query(CATALOGUE, text) == text


@pytest.mark.parametrize("text", ["all", "ALL", " todo ", "Todas", "todos"])
def test_all_in_either_language(text: str) -> None:
    assert means_all(text)
    assert not means_all("all migration")


@given(st.lists(PIECES, max_size=8).map(" ".join))
def test_the_normal_form_is_the_same_search_and_its_own_normal_form(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError:
        return
    normal = normal_form(query)
    again = parse_query(normal)
    assert normal_form(again) == normal
    assert set(again.terms) == set(query.terms)
    assert set(again.excluded) == set(query.excluded)
    assert again.language == query.language
