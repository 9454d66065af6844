"""The translation evaluation set is what its README says it is: a matcher tuned
and measured on it is measured on one story per key, in the right languages,
with enough pairs and look-alike non-pairs to make the figures mean something."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.config import DATA_DIR
from bot.ingest.language import detect_language
from bot.text import index_text
from bot.topics import load_catalogue
from tests.translation_set import PATH, Article, EvalSet, fixed_subset, load

CATALOGUE = load_catalogue(DATA_DIR / "topics.toml")
SET = load()


def test_ids_are_unique_and_name_their_story_and_language() -> None:
    ids = [article.id for article in SET.articles]

    assert len(ids) == len(set(ids))
    assert all(article.id == f"{article.story}-{article.language}" for article in SET.articles)
    assert {article.language for article in SET.articles} == {"en", "es"}


def test_a_story_is_one_article_per_language_or_a_single_one() -> None:
    languages: dict[str, list[str]] = {}
    for article in SET.articles:
        languages.setdefault(article.story, []).append(article.language)

    assert all(sorted(found) in (["en"], ["es"], ["en", "es"]) for found in languages.values())
    singles = Counter(found[0] for found in languages.values() if len(found) == 1)
    assert singles["en"] >= 25
    assert singles["es"] >= 25


def test_enough_pairs_and_plausible_non_pairs() -> None:
    assert len(SET.true_pairs) >= 100
    assert len(SET.plausible_non_pairs) >= 1000
    assert not SET.true_pairs & SET.plausible_non_pairs


def test_pairs_are_translated_in_every_manner() -> None:
    """Close translations alone would flatter a matcher: most of the
    publication's pairs are reframed or loose."""
    by_id = SET.by_id()
    styles = Counter(by_id[english].style for english, _ in SET.true_pairs)

    assert set(styles) == {"close", "reframed", "loose"}
    assert styles["close"] <= len(SET.true_pairs) // 3
    assert all(article.style is None for article in SET.articles if _single(SET, article))


def test_hard_negatives_are_different_stories_the_matcher_will_compare() -> None:
    by_id = SET.by_id()

    assert len(SET.hard_negatives) >= 25
    for english, spanish in SET.hard_negatives:
        assert by_id[english].language == "en"
        assert by_id[spanish].language == "es"
        assert (english, spanish) in SET.plausible_non_pairs


@pytest.mark.parametrize("article", SET.articles, ids=lambda article: article.id)
def test_language_matches_the_text(article: Article) -> None:
    assert detect_language(f"{article.title}\n{article.summary}") == article.language


@pytest.mark.parametrize("article", SET.articles, ids=lambda article: article.id)
def test_topics_are_the_catalogues_and_include_what_it_finds_in_the_text(article: Article) -> None:
    """Tags as ingest would give them: the text's own plus the source's categories."""
    slugs = [topic.slug for topic in CATALOGUE.topics]
    found = CATALOGUE.tag(index_text(f"{article.title}\n{article.summary}"))

    assert article.topics
    assert set(article.topics) <= set(slugs)
    assert set(found) <= set(article.topics)


def test_summaries_are_listing_sized() -> None:
    assert all(150 <= len(article.summary) <= 400 for article in SET.articles)


def test_dates_spread_over_weeks_with_a_few_undated() -> None:
    dated = sorted(article.published for article in SET.articles if article.published is not None)
    undated = len(SET.articles) - len(dated)

    assert 1 <= undated <= len(SET.articles) // 20
    assert 30 <= (dated[-1] - dated[0]).days <= 60


def test_fixed_subset_is_deterministic_and_consistent() -> None:
    subset = fixed_subset(SET)

    assert subset == fixed_subset(load())
    assert subset.must_pair <= SET.true_pairs
    assert subset.must_not_pair <= SET.plausible_non_pairs
    assert len(subset.must_pair) >= 20
    assert len(subset.must_not_pair) >= 25


def _single(evalset: EvalSet, article: Article) -> bool:
    return sum(1 for other in evalset.articles if other.story == article.story) == 1


def test_readme_counts_are_the_sets() -> None:
    """The README is where readers of BENCHMARKS.md look up what was measured."""
    readme = (PATH.parent / "README.md").read_text("utf-8")
    stories = {article.story for article in SET.articles}

    assert f"| stories | {len(stories)} |" in readme
    assert f"| articles | {len(SET.articles)} |" in readme
    assert f"| true pairs (bilingual stories) | {len(SET.true_pairs)} " in readme
    assert f"| plausible non-pairs | {len(SET.plausible_non_pairs):,} |" in readme
    assert f"| hard negatives | {len(SET.hard_negatives)} |" in readme
