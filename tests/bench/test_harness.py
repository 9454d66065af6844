"""The benchmark harness stays runnable and its corpus reproducible.

Speed is never asserted here (it depends on the machine); BENCHMARKS.md
records it. These checks only keep `make bench` from rotting unnoticed.
"""

from __future__ import annotations

from pathlib import Path

from bench import corpus
from bench.__main__ import main
from bench.search import queries, reference_match
from bot.ingest.language import detect_language


def test_corpus_is_deterministic_and_sliceable() -> None:
    first = list(corpus.articles(60))
    assert first == list(corpus.articles(60))
    assert list(corpus.articles(60, start=20, stop=30)) == first[20:30]
    assert corpus.rss(15) == corpus.rss(15)
    assert first != list(corpus.articles(60, seed=2))


def test_corpus_is_bilingual_as_labelled() -> None:
    generated = list(corpus.articles(400))
    spanish = sum(a.language == "es" for a in generated) / len(generated)
    assert 0.2 < spanish < 0.4
    agree = sum(
        detect_language(f"{a.entry.title}\n{a.entry.summary}") == a.language for a in generated
    )
    assert agree / len(generated) > 0.95
    dates = [a.entry.published_at or 0 for a in generated]
    assert max(dates) - min(dates) > 10 * 365 * 86_400


def test_queries_are_fixed_and_cover_every_kind() -> None:
    chosen = queries()
    assert chosen == queries()
    kinds = " ".join(q.kind for q in chosen)
    for kind in ("frequent", "medium", "rare", "phrase", "prefix", "accented"):
        assert kind in kinds
    assert all(reference_match(q.text) for q in chosen)


def test_harness_runs_at_toy_size(tmp_path: Path) -> None:
    """A few seconds end to end; how fast is not checked, only that it works."""
    output = tmp_path / "BENCHMARKS.md"
    status = main(
        [
            "--only", "search,ingest",  # the others have smoke tests of their own
            "--articles", "300", "--rounds", "1", "--ingest-entries", "100",
            "--ingest-runs", "1", "--cache-dir", str(tmp_path / "cache"),
            "--output", str(output), "--quiet",
        ]
    )  # fmt: skip
    assert status == 0
    text = output.read_text("utf-8")
    assert "| figure | value | reference | reference value | ratio | target | met? |" in text
    assert "search, 300 articles (service.find) p50" in text
    assert "ingest, 100-entry RSS" in text
    assert "ingest with media and full content, 100-entry RSS" in text
    # A second run reuses the cached database instead of building it again.
    again = ["--only", "search", "--articles", "300", "--rounds", "1"]
    again += ["--cache-dir", str(tmp_path / "cache"), "--output", str(output), "--quiet"]
    assert main(again) == 0
    assert "reused from the cache" in output.read_text("utf-8")
