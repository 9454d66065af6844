"""Pairing translations: how right the text matcher is, and what it costs ingest.

Quality is measured on the evaluation set in tests/data/translations (true
pairs written in both languages, and plausible non-pairs: other stories on the
same topics and dates). The whole set goes through the real ingest, one batch,
as an archive import would: languages and dates as the set gives them, topics
tagged by the catalogue from the text alone. Precision is the share of the
pairs made that are true; recall the share of the true pairs that were made.
The matcher was tuned on that set, so the same figures are measured again, the
same way, on its held-out set (written later, never tuned on): the honest estimate.

Cost: the same generated RSS document ingested with text pairing on and off,
turn about in one run, so the machine's mood weighs on both alike; the
reference is pairing off, which is what ingest cost before pairing existed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path

from bench import Options, corpus, say
from bench.report import Row, Target
from bot.config import DATA_DIR
from bot.ingest.entry import Entry
from bot.ingest.parse import parse_feed
from bot.ingest.pipeline import ingest, prepare
from bot.runtime import sync_catalogue
from bot.store import articles, translations
from bot.store.db import Database
from bot.topics import Catalogue, load_catalogue
from tests import translation_set

PRECISION_TARGET = Target(">=", 0.98)
RECALL_TARGET = Target(">=", 0.7)
COST_TARGET = Target(">=", 0.85)
"""Ingest with pairing at no less than 85% of the rate without: pairing ≤ 15% of its time."""
URL = "https://news.example.org/rss"


@dataclass(frozen=True)
class Quality:
    true_pairs: int
    made: int
    right: int
    wrong: list[tuple[str, str]]
    missed: list[tuple[str, str]]

    @property
    def precision(self) -> float:
        return self.right / self.made if self.made else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.true_pairs if self.true_pairs else 1.0


def entries(evalset: translation_set.EvalSet) -> list[Entry]:
    """The set's articles as a source would give them (noon UTC on their date)."""
    return [
        Entry(
            title=article.title,
            summary=article.summary,
            guid=article.id,
            language=article.language,
            published_at=None
            if article.published is None
            else int(datetime.combine(article.published, clock(12), UTC).timestamp()),
        )
        for article in evalset.articles
    ]


async def evaluate(
    db: Database, catalogue: Catalogue, evalset: translation_set.EvalSet, *, now: int
) -> Quality:
    """Ingest the set into `db` (empty) and compare the pairs made with the true ones."""
    report = await ingest(db, entries(evalset), source="evaluation", catalogue=catalogue, now=now)
    # The set's ids by the stored articles' titles (unique within a language).
    named = {(a.language, a.title): a.id for a in evalset.articles}
    guid = {a.id: named[a.language, a.title] for a in await articles.get_many(db, report.new_ids)}
    made: set[tuple[str, str]] = set()
    for pair in await translations.pairs(db):
        first, second = guid[pair.first_id], guid[pair.second_id]
        made.add((first, second) if first.endswith("-en") else (second, first))
    truth = set(evalset.true_pairs)
    return Quality(
        true_pairs=len(truth),
        made=len(made),
        right=len(made & truth),
        wrong=sorted(made - truth),
        missed=sorted(truth - made),
    )


async def _measure(folder: Path, catalogue: Catalogue, evalset: translation_set.EvalSet) -> Quality:
    """`evaluate` on a fresh database of its own."""
    db = await _fresh(folder, catalogue)
    try:
        return await evaluate(db, catalogue, evalset, now=_after(evalset))
    finally:
        await db.close()


def _quality_rows(
    name: str, label: str, evalset: translation_set.EvalSet, quality: Quality
) -> list[Row]:
    """Precision and recall on one set, against the same targets whichever set it is."""
    counts = (
        f"{label}: {len(evalset.articles)} articles, {quality.true_pairs} true pairs,"
        f" {len(evalset.plausible_non_pairs):,} plausible non-pairs; ingested as one batch"
    )
    wrong = "\n".join(f"wrong pair: {a} ↔ {b}" for a, b in quality.wrong)
    missed = "\n".join(f"missed: {a} ↔ {b}" for a, b in quality.missed)
    return [
        Row(
            f"{name}: precision (wrong pairs among pairs made)",
            quality.precision,
            "",
            target=PRECISION_TARGET,
            detail="\n".join(
                filter(None, [counts, f"pairs made {quality.made}, true {quality.right}", wrong])
            ),
        ),
        Row(
            f"{name}: recall (true pairs found)",
            quality.recall,
            "",
            target=RECALL_TARGET,
            detail="\n".join(filter(None, [counts, missed])),
        ),
    ]


async def _fresh(folder: Path, catalogue: Catalogue) -> Database:
    db = await Database.open(folder / "bench.sqlite3")
    await sync_catalogue(db, catalogue)
    return db


async def _ingest_seconds(
    body: bytes, folder: Path, catalogue: Catalogue, *, pairing: bool
) -> float:
    db = await _fresh(folder, catalogue)
    try:
        started = time.perf_counter()
        parsed = parse_feed(
            body, url=URL, content_type="application/rss+xml", max_entries=None, max_bytes=len(body)
        )
        await ingest(
            db,
            parsed.entries,
            source=URL,
            catalogue=catalogue,
            now=corpus.LAST_DAY + 86_400,
            feed_language=parsed.language,
            pair_window_days=3 if pairing else 0,
        )
        return time.perf_counter() - started
    finally:
        await db.close()


async def run(options: Options) -> list[Row]:
    catalogue = load_catalogue(DATA_DIR / "topics.toml")
    evalset = translation_set.load()
    heldout = translation_set.load_heldout()
    with tempfile.TemporaryDirectory(prefix="bench-pairing-") as tmp:
        folder = Path(tmp)
        quality = await _measure(folder / "quality", catalogue, evalset)
        heldout_quality = await _measure(folder / "heldout", catalogue, heldout)
        n = options.ingest_entries
        body = corpus.rss(n)
        say(
            options,
            f"ingesting a {n:,}-entry RSS document, pairing on and off × {_cost_runs(options)}",
        )
        on: list[float] = []
        off: list[float] = []
        for number in range(_cost_runs(options)):
            turns = (True, False) if number % 2 == 0 else (False, True)
            for pairing in turns:
                seconds = await _ingest_seconds(
                    body, folder / f"run{number}-{pairing}", catalogue, pairing=pairing
                )
                (on if pairing else off).append(seconds)
        keys_seconds = _keys_seconds(body, catalogue, runs=max(3, options.ingest_runs))
    return [
        *_quality_rows("pairing from the text", "evaluation set", evalset, quality),
        *_quality_rows(
            "pairing from the text, held-out set",
            "held-out set (never tuned on)",
            heldout,
            heldout_quality,
        ),
        Row(
            f"ingest with text pairing, {n:,}-entry RSS",
            n / statistics.median(on),
            "entries/s",
            reference="the same ingest with pairing off",
            reference_value=n / statistics.median(off),
            ratio_target=COST_TARGET,
            detail=(
                f"median of {len(on)} runs each, turn about;"
                f" on {', '.join(f'{s:.2f}' for s in on)} s;"
                f" off {', '.join(f'{s:.2f}' for s in off)} s\n"
                + _where_the_time_goes(
                    statistics.median(on) - statistics.median(off), keys_seconds, n
                )
            ),
        ),
    ]


def _cost_runs(options: Options) -> int:
    """Pairs of runs for the cost: it is a difference of two medians, so the
    full run takes more of them than the ingest rows (a shared machine's
    run-to-run swings are as large as the difference)."""
    return options.ingest_runs if options.quick else max(options.ingest_runs, 9)


def _keys_seconds(body: bytes, catalogue: Catalogue, *, runs: int) -> float:
    """What working out the matching keys adds to `prepare` for the document's
    entries (the median of `runs` runs of prepare with them and without, turn about)."""
    parsed = parse_feed(
        body, url=URL, content_type="application/rss+xml", max_entries=None, max_bytes=len(body)
    )
    now = corpus.LAST_DAY + 86_400
    spent: dict[bool, list[float]] = {True: [], False: []}
    for number in range(runs):
        for with_keys in (True, False) if number % 2 == 0 else (False, True):
            started = time.perf_counter()
            for position, entry in enumerate(parsed.entries):
                prepare(
                    entry,
                    source=URL,
                    catalogue=catalogue,
                    now=now,
                    feed_language=parsed.language,
                    position=position,
                    story_keys=with_keys,
                )
            spent[with_keys].append(time.perf_counter() - started)
    return max(0.0, statistics.median(spent[True]) - statistics.median(spent[False]))


def _where_the_time_goes(added: float, keys: float, n: int) -> str:
    """Pairing's cost split: the keys each article gets as it is prepared, and
    the rest (reading the articles around the arrivals, matching, writing
    keys and pairs)."""
    rest = added - keys
    return (
        f"pairing adds {added * 1000:.0f} ms ({added / n * 1e6:.0f} µs per entry):"
        f" keys at prepare {keys * 1000:.0f} ms ({keys / n * 1e6:.0f} µs per entry),"
        f" matching with its reads and writes {rest * 1000:.0f} ms"
        f" ({rest / n * 1e6:.0f} µs per entry)"
    )


def _after(evalset: translation_set.EvalSet) -> int:
    """A day after the set's last date: its undated articles are fetched then."""
    last = max(a.published for a in evalset.articles if a.published is not None)
    return int(datetime.combine(last, clock(12), UTC).timestamp()) + 86_400
