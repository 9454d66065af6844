from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search.query import MAX_QUERY_CHARS, QueryError, QueryProblem, parse_query


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE article_search USING fts5(title_en, title_es, summary_en,"
        " summary_es, content='', tokenize='unicode61 remove_diacritics 2')"
    )
    conn.execute(
        "INSERT INTO article_search (rowid, title_en, title_es, summary_en, summary_es)"
        " VALUES (1, 'migrant juarez', 'migrants juarez', 'not and or', 'not and or')"
    )
    return conn


def _runs(conn: sqlite3.Connection, text: str) -> bool:
    try:
        query = parse_query(text)
    except QueryError:
        return False
    for match in (query.fts(), query.fts_in_title()):
        if match is not None:
            conn.execute("SELECT rowid FROM article_search WHERE article_search MATCH ?", (match,))
    return True


FTS_JUNK = st.sampled_from(
    [
        '"',
        "(",
        ")",
        "*",
        "-",
        "^",
        ":",
        "+",
        "NOT",
        "AND",
        "OR",
        "NEAR(",
        "{",
        "}",
        "topic:",
        "lang:",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_a_valid_query_or_a_clean_problem(fts: sqlite3.Connection, text: str) -> None:
    _runs(fts, text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(FTS_JUNK, st.text(max_size=8)), max_size=20).map(" ".join))
def test_fts_operators_never_reach_fts5_raw(fts: sqlite3.Connection, text: str) -> None:
    _runs(fts, text)


def test_operators_are_searched_as_words(fts: sqlite3.Connection) -> None:
    query = parse_query('"unbalanced AND OR NOT (')
    assert query.fts() is not None
    assert _runs(fts, '"unbalanced AND OR NOT (')


def test_syntax() -> None:
    query = parse_query('migrants "ciudad juárez" -video femi* topic:history lang:es')
    assert [t.words for t in query.terms] == [("migrants",), ("ciudad", "juarez"), ("femi",)]
    assert query.terms[2].prefix
    assert [t.words for t in query.excluded] == [("video",)]
    assert query.topics == ("history",)
    assert query.language == "es"


def test_stopwords_are_dropped_unless_alone() -> None:
    assert [t.words for t in parse_query("the migrants").terms] == [("migrants",)]
    assert [t.words for t in parse_query("the").terms] == [("the",)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", QueryProblem.EMPTY),
        ("   ", QueryProblem.EMPTY),
        ("()*^", QueryProblem.EMPTY),
        ("🙂🙂", QueryProblem.EMPTY),
        ("-video", QueryProblem.ONLY_EXCLUDED),
        ("lang:fr migrants", QueryProblem.UNKNOWN_LANGUAGE),
        ("x" * (MAX_QUERY_CHARS + 1), QueryProblem.TOO_LONG),
        ("a " * 2500, QueryProblem.TOO_LONG),
    ],
)
def test_problems(text: str, problem: QueryProblem) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert caught.value.problem is problem


def test_filters_alone_are_a_query() -> None:
    query = parse_query("topic:history")
    assert query.fts() is None
    assert query.topics == ("history",)
