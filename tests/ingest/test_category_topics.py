"""Which topic a feed's category names: the catalogue's own words, as feeds
write them (inflected, capitalised, accented or not), and nothing looser."""

from __future__ import annotations

import pytest

from bot.text import index_text
from tests.digest.helpers import CATALOGUE


@pytest.mark.parametrize(
    ("category", "slug"),
    [
        ("Migration", "migration"),  # a name
        ("womens-rights", "womens-rights"),  # a slug
        ("Refugees", "migration"),  # a keyword, plural
        ("Deportaciones", "migration"),  # a Spanish keyword, plural, unaccented
        ("DEPORTACIÓN", "migration"),
        ("Mujeres", "womens-rights"),
        ("Border collies", None),  # holds a keyword, is not one
        ("Sports", None),
        ("", None),
        ("!!!", None),
    ],
)
def test_a_category_names_the_topic_whose_keyword_it_is(category: str, slug: str | None) -> None:
    assert CATALOGUE.category_topic(category) == slug


def test_an_article_is_tagged_with_the_topics_its_categories_name() -> None:
    text = index_text("A quiet night on the coast")
    assert CATALOGUE.tag(text) == []
    assert CATALOGUE.tag(text, ("Refugees", "Weather")) == ["migration"]
