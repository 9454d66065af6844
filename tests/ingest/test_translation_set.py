"""The translation evaluation sets are what their README says they are: a matcher
tuned and measured on one (and measured again on the held-out one) is measured
on one story per key, in the right languages, with enough pairs and look-alike
non-pairs to make the figures mean something."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from bot.config import DATA_DIR
from bot.ingest.language import detect_language
from bot.text import index_text
from bot.topics import load_catalogue
from tests.translation_set import (
    HELDOUT_PATH,
    PATH,
    Article,
    EvalSet,
    fixed_subset,
    load,
    load_heldout,
)

CATALOGUE = load_catalogue(DATA_DIR / "topics.toml")


@dataclass(frozen=True)
class Shape:
    """What one set must hold: the held-out set is smaller, not laxer in kind."""

    evalset: EvalSet
    min_pairs: int
    min_plausible: int
    min_singles: int  # per language
    min_hard: int
    min_close: int


TUNING = Shape(load(), 100, 1000, 25, 25, 20)
HELDOUT = Shape(load_heldout(), 60, 400, 20, 15, 15)
SHAPES = pytest.mark.parametrize("shape", [TUNING, HELDOUT], ids=["tuning", "heldout"])
ARTICLES = TUNING.evalset.articles + HELDOUT.evalset.articles


@SHAPES
def test_ids_are_unique_and_name_their_story_and_language(shape: Shape) -> None:
    evalset = shape.evalset
    ids = [article.id for article in evalset.articles]

    assert len(ids) == len(set(ids))
    assert all(article.id == f"{article.story}-{article.language}" for article in evalset.articles)
    assert {article.language for article in evalset.articles} == {"en", "es"}


@SHAPES
def test_a_story_is_one_article_per_language_or_a_single_one(shape: Shape) -> None:
    evalset = shape.evalset
    languages: dict[str, list[str]] = {}
    for article in evalset.articles:
        languages.setdefault(article.story, []).append(article.language)

    assert all(sorted(found) in (["en"], ["es"], ["en", "es"]) for found in languages.values())
    singles = Counter(found[0] for found in languages.values() if len(found) == 1)
    assert singles["en"] >= shape.min_singles
    assert singles["es"] >= shape.min_singles


@SHAPES
def test_enough_pairs_and_plausible_non_pairs(shape: Shape) -> None:
    evalset = shape.evalset
    assert len(evalset.true_pairs) >= shape.min_pairs
    assert len(evalset.plausible_non_pairs) >= shape.min_plausible
    assert not evalset.true_pairs & evalset.plausible_non_pairs


@SHAPES
def test_pairs_are_translated_in_every_manner(shape: Shape) -> None:
    """Close translations alone would flatter a matcher: most of the
    publication's pairs are reframed or loose."""
    evalset = shape.evalset
    by_id = evalset.by_id()
    styles = Counter(by_id[english].style for english, _ in evalset.true_pairs)

    assert set(styles) == {"close", "reframed", "loose"}
    assert styles["close"] <= len(evalset.true_pairs) // 3
    assert all(article.style is None for article in evalset.articles if _single(evalset, article))


@SHAPES
def test_hard_negatives_are_different_stories_the_matcher_will_compare(shape: Shape) -> None:
    evalset = shape.evalset
    by_id = evalset.by_id()

    assert len(evalset.hard_negatives) >= shape.min_hard
    for english, spanish in evalset.hard_negatives:
        assert by_id[english].language == "en"
        assert by_id[spanish].language == "es"
        assert (english, spanish) in evalset.plausible_non_pairs


@pytest.mark.parametrize("article", ARTICLES, ids=lambda article: article.id)
def test_language_matches_the_text(article: Article) -> None:
    assert detect_language(f"{article.title}\n{article.summary}") == article.language


@pytest.mark.parametrize("article", ARTICLES, ids=lambda article: article.id)
def test_topics_are_the_catalogues_and_include_what_it_finds_in_the_text(article: Article) -> None:
    """Tags as ingest would give them: the text's own plus the source's categories."""
    slugs = [topic.slug for topic in CATALOGUE.topics]
    found = CATALOGUE.tag(index_text(f"{article.title}\n{article.summary}"))

    assert article.topics
    assert set(article.topics) <= set(slugs)
    assert set(found) <= set(article.topics)


def test_summaries_are_listing_sized() -> None:
    assert all(150 <= len(article.summary) <= 400 for article in ARTICLES)


@SHAPES
def test_dates_spread_over_weeks_with_a_few_undated(shape: Shape) -> None:
    evalset = shape.evalset
    dated = sorted(a.published for a in evalset.articles if a.published is not None)
    undated = len(evalset.articles) - len(dated)

    assert 1 <= undated <= len(evalset.articles) // 20
    assert 30 <= (dated[-1] - dated[0]).days <= 60


def test_the_held_out_set_is_other_stories_in_another_period() -> None:
    """Held out means unseen: no shared id or title, and no date of one within
    the pairing window of the other, so no story of one set can meet the other's."""
    tuning, heldout = TUNING.evalset.articles, HELDOUT.evalset.articles
    last_tuning = max(a.published for a in tuning if a.published is not None)
    first_heldout = min(a.published for a in heldout if a.published is not None)

    assert not {a.id for a in tuning} & {a.id for a in heldout}
    assert not {a.title for a in tuning} & {a.title for a in heldout}
    assert all(article.id.startswith("h") for article in heldout)
    assert (first_heldout - last_tuning).days > 3


@SHAPES
def test_fixed_subset_is_deterministic_and_consistent(shape: Shape) -> None:
    evalset = shape.evalset
    subset = fixed_subset(evalset)

    assert subset == fixed_subset(load(HELDOUT_PATH if shape is HELDOUT else PATH))
    assert subset.must_pair <= evalset.true_pairs
    assert subset.must_not_pair <= evalset.plausible_non_pairs
    assert len(subset.must_pair) >= shape.min_close
    assert len(subset.must_not_pair) >= shape.min_hard


def _single(evalset: EvalSet, article: Article) -> bool:
    return sum(1 for other in evalset.articles if other.story == article.story) == 1


@SHAPES
def test_readme_counts_are_the_sets(shape: Shape) -> None:
    """The README is where readers of BENCHMARKS.md look up what was measured:
    the tuning set's counts above its "Held-out set" section, the other's in it."""
    tuning, heldout = (PATH.parent / "README.md").read_text("utf-8").split("## Held-out set")
    readme = heldout if shape is HELDOUT else tuning
    evalset = shape.evalset
    stories = {article.story for article in evalset.articles}

    assert f"| stories | {len(stories)} |" in readme
    assert f"| articles | {len(evalset.articles)} |" in readme
    assert f"| true pairs (bilingual stories) | {len(evalset.true_pairs)} " in readme
    assert f"| plausible non-pairs | {len(evalset.plausible_non_pairs):,} |" in readme
    assert f"| hard negatives | {len(evalset.hard_negatives)} |" in readme
