"""The translation evaluation set (tests/data/translations/articles.jsonl).

Articles that share a story key are one story in two languages: the true
pairs. Every other (English, Spanish) combination is a non-pair; the ones a
matcher could plausibly confuse — published within `WINDOW_DAYS` of each
other and sharing a topic — are the plausible non-pairs its precision is
measured on. An undated article can land in any window (it counts at its
ingest time), so it is plausible beside every article of the other language
it shares a topic with.

Run `python -m tests.translation_set` to print the counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PATH = Path(__file__).parent / "data" / "translations" / "articles.jsonl"
# Written after the matcher was tuned, and never tuned on: its honest estimate.
HELDOUT_PATH = PATH.parent / "heldout.jsonl"
WINDOW_DAYS = 3

Pair = tuple[str, str]  # (English id, Spanish id)


@dataclass(frozen=True)
class Article:
    id: str
    story: str
    language: str
    title: str
    summary: str
    published: date | None
    topics: tuple[str, ...]
    source: str
    style: str | None = None  # of a true pair: "close", "reframed" or "loose"
    hard_negative_of: str | None = None


@dataclass(frozen=True)
class EvalSet:
    articles: tuple[Article, ...]
    true_pairs: frozenset[Pair]
    plausible_non_pairs: frozenset[Pair]
    # Different stories on the same event or subject, written to look alike.
    hard_negatives: frozenset[Pair]

    def by_id(self) -> dict[str, Article]:
        return {article.id: article for article in self.articles}


@dataclass(frozen=True)
class Subset:
    """What a test of the matcher's decisions checks: pairs it must make and
    pairs it must not."""

    must_pair: frozenset[Pair]
    must_not_pair: frozenset[Pair]


def load(path: Path = PATH) -> EvalSet:
    articles = tuple(
        _article(json.loads(line)) for line in path.read_text("utf-8").splitlines() if line.strip()
    )
    english = [a for a in articles if a.language == "en"]
    spanish = [a for a in articles if a.language == "es"]
    true_pairs = frozenset(
        (en.id, es.id) for en in english for es in spanish if en.story == es.story
    )
    plausible = frozenset(
        (en.id, es.id)
        for en in english
        for es in spanish
        if en.story != es.story
        and _near(en.published, es.published)
        and set(en.topics) & set(es.topics)
    )
    hard = set()
    for article in articles:
        if article.hard_negative_of is not None:
            other = article.hard_negative_of
            hard.add((article.id, other) if article.language == "en" else (other, article.id))
    return EvalSet(articles, true_pairs, plausible, frozenset(hard))


def load_heldout() -> EvalSet:
    """The held-out set: same format and rules, other stories, another period."""
    return load(HELDOUT_PATH)


def fixed_subset(evalset: EvalSet) -> Subset:
    """A deterministic selection for the matcher's tests: the close translations
    (a matcher that misses these misses everything) and the hard negatives."""
    by_id = evalset.by_id()
    close = frozenset(pair for pair in evalset.true_pairs if by_id[pair[0]].style == "close")
    return Subset(must_pair=close, must_not_pair=evalset.hard_negatives)


FIXED_SUBSET = fixed_subset


def _near(a: date | None, b: date | None) -> bool:
    return a is None or b is None or abs((a - b).days) <= WINDOW_DAYS


def _article(raw: dict[str, object]) -> Article:
    published = raw.get("published")
    topics = raw.get("topics") or []
    assert isinstance(topics, list)
    return Article(
        id=str(raw["id"]),
        story=str(raw["story"]),
        language=str(raw["language"]),
        title=str(raw["title"]),
        summary=str(raw["summary"]),
        published=None if published is None else date.fromisoformat(str(published)),
        topics=tuple(str(topic) for topic in topics),
        source=str(raw["source"]),
        style=None if raw.get("style") is None else str(raw["style"]),
        hard_negative_of=None
        if raw.get("hard_negative_of") is None
        else str(raw["hard_negative_of"]),
    )


if __name__ == "__main__":
    for name, evalset in (("tuning set", load()), ("held-out set", load_heldout())):
        stories = {article.story for article in evalset.articles}
        print(f"{name}: articles: {len(evalset.articles)}, stories: {len(stories)}")
        print(f"true pairs: {len(evalset.true_pairs)}")
        print(f"plausible non-pairs: {len(evalset.plausible_non_pairs)}")
        print(f"hard negatives: {len(evalset.hard_negatives)}")
