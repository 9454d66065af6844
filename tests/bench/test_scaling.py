"""The PostgreSQL and replica benchmark runs end to end at toy sizes.

As for the other benchmarks: how fast is never checked, only that it still copies
the archive into a server of its own, finds the same articles on both engines,
drives real bots behind the proxy (one, then two on one store), kills the leader
and sees the other send, and turns all of it into rows. It leans on log lines of
the bot (`webhook mode on`, `this bot leads the bots on`): a change to them shows
here rather than in a long benchmark run.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import Options, scaling


@pytest.fixture(scope="module")
def options() -> Iterator[Options]:
    """Toy sizes; the archive (SQLite and its PostgreSQL copy) cached in a temporary
    folder the server's user may enter (pytest's own are private to the user running
    the tests, and as root the server runs as `postgres`)."""
    cache = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    cache.chmod(0o755)
    try:
        yield Options(
            articles=300,
            rounds=1,
            latency_seconds=1.0,
            latency_users=48,
            fanout_subscribers=(12,),
            cache_dir=cache,
            verbose=False,
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def test_the_reference_tsquery_asks_each_language_in_its_own_columns() -> None:
    """English stems in the English title and summary (weights A, C), Spanish in the
    Spanish ones (B, D): what FTS5's reference says with column filters."""
    assert scaling.reference_tsquery("Revolución") == "('revolucion':AC | 'revolu':BD)"
    assert scaling.reference_tsquery('"clase obrera" migra*') == (
        "('clase':AC <-> 'obrera':AC | 'clas':BD <-> 'obrer':BD) & ('migra':*AC | 'migr':*BD)"
    )


@pytest.mark.timeout(600)
async def test_scaling_copies_searches_and_runs_replicas(options: Options) -> None:
    rows = await scaling.run(options)
    figures = [row.figure for row in rows]
    copy, find_p50, find_p99, raw_p50, raw_p99 = rows[:5]
    assert copy.figure == "store copy, 300 articles (SQLite to PostgreSQL)"
    assert copy.value > 0
    assert "copy_store" in copy.detail
    for row in (find_p50, find_p99, raw_p50, raw_p99):
        assert row.value > 0
        assert row.reference_value is not None, "SQLite's figure, from the same run"
    assert "How the server ran find's query" in find_p50.detail
    two_p50, two_p99, one_p50, one_p99 = rows[5:9]
    assert "two replicas on PostgreSQL" in two_p50.figure
    assert "one bot on PostgreSQL" in one_p50.figure
    assert two_p50.reference_value == one_p50.value
    assert two_p99.reference_value == one_p99.value
    assert one_p99.reference_value is not None, "one bot on SQLite, from the same run"
    assert "one bot on SQLite" in two_p50.detail
    assert "15, 15" in two_p50.detail, "the proxy hands each replica every other update"
    rate, refused, twice, window, replies = rows[9:14]
    assert rate.value > 0
    assert refused.value == 0, "a 429"
    assert twice.value == 0, "a subscriber reached twice or not at all"
    assert 0 < window.value <= 30
    assert replies.reference_value is not None
    median, longest = rows[14:]
    assert 0 < median.value <= longest.value < scaling.FAILOVER_WAIT
    assert "reply to /help" in median.detail
    assert len(figures) == len(set(figures))
