"""The rules on prefixes, in the one parser every way in goes through."""

from __future__ import annotations

import pytest

from bot.search.query import (
    QueryError,
    QueryProblem,
    parse_query,
    parse_subscription,
    within_prefix_rules,
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a* e* i* o* u* s* t* c* d* m* p* r*", QueryProblem.SHORT_PREFIX),
        ("ab*", QueryProblem.SHORT_PREFIX),
        ("juarez mi*", QueryProblem.SHORT_PREFIX),
        ("juarez -mi*", QueryProblem.SHORT_PREFIX),  # an excluded prefix costs the same
        ("foo-ba*", QueryProblem.SHORT_PREFIX),  # the prefix is the last word
        ("ñu*", QueryProblem.SHORT_PREFIX),  # letters, not bytes
        ("migra* revolu* capit*", QueryProblem.TOO_MANY_PREFIXES),
        ("migra* revolu* -capit*", QueryProblem.TOO_MANY_PREFIXES),
    ],
)
def test_prefix_rules_refuse(text: str, problem: QueryProblem) -> None:
    with pytest.raises(QueryError) as refused:
        parse_query(text)
    assert refused.value.problem is problem


@pytest.mark.parametrize(
    "text", ["mig*", "ñan*", "migra* revolu*", "migra* migra* revolu*", "juarez -capit*", "a b c"]
)
def test_prefix_rules_accept(text: str) -> None:
    assert parse_query(text).has_text


def test_a_prefix_the_stemmer_cuts_short_stays_as_typed() -> None:
    """English stems `ies` to `ie`: searching `ie*` would be broader than the rules allow."""
    match = parse_query("ies*").fts()
    assert match is not None
    assert '"ie"*' not in match
    assert '"ies"*' in match


def test_a_subscription_needs_words_or_topics() -> None:
    with pytest.raises(QueryError) as refused:
        parse_subscription("lang:es")
    assert refused.value.problem is QueryProblem.EMPTY
    assert parse_subscription("topic:migration lang:es").topics == ("migration",)


@pytest.mark.parametrize(
    ("text", "repaired"),
    [
        ("a* e* i* o* u* s* t* c* d* m* p* r*", None),
        ("ab*", None),
        ("ab* lang:es", None),  # a language alone follows everything in it
        ("-ab* juarez", "juarez"),
        ("juarez ab*", "juarez"),
        ("foo-ba* bar", "foo bar"),
        ("migra* revolu* capit*", "migra* revolu*"),
        ("ab* migra* -revolu* capit* lang:es", "migra* -revolu* lang:es"),
        ("ab* topic:migration", "topic:migration"),
        ('"ciudad juarez" mi*', '"ciudad juarez"'),
        ("migra* revolu*", "migra* revolu*"),  # already within the rules: as written
        ("juarez", "juarez"),
    ],
)
def test_subscriptions_are_brought_within_the_rules(text: str, repaired: str | None) -> None:
    assert within_prefix_rules(text) == repaired
    if repaired is not None:
        parse_subscription(repaired)
