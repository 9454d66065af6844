"""Which topics a query names, on the real catalogue."""

from __future__ import annotations

import pytest

from bot.config import DATA_DIR
from bot.search.named import topics_named
from bot.search.query import parse_query
from bot.topics import load_catalogue

CATALOGUE = load_catalogue(DATA_DIR / "topics.toml")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mujeres", ("womens-rights",)),  # a Spanish keyword
        ("Mujer", ("womens-rights",)),
        ("femicides", ("womens-rights",)),  # an English keyword, in the plural
        ("derechos de las mujeres", ("womens-rights",)),  # the Spanish name
        ("mujeres derechos", ("womens-rights",)),  # in any order
        ('"ni una menos"', ("womens-rights",)),  # a phrase keyword
        ("mujer*", ()),  # a prefix is still being typed
        ("mujeres topic:government", ()),  # the reader already chose a topic
        ("juarez", ()),
        ("mujeres juarez", ()),  # more than a topic's name
    ],
)
def test_topics_named(query: str, expected: tuple[str, ...]) -> None:
    assert topics_named(parse_query(query), CATALOGUE) == expected
