"""Progress text, rate and time left."""

from __future__ import annotations

import pytest

from bot.admin.progress import RateMeter, duration, eta_seconds, progress_text, summary_text
from bot.store.outbox import BroadcastProgress


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (44.6, "45 s"), (185, "3 min 05 s"), (7620, "2 h 07 min")],
)
def test_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_rate_over_a_sliding_window() -> None:
    meter = RateMeter(window=10)
    assert meter.observe(1, 100.0, 0) is None
    assert meter.observe(1, 103.0, 30) == pytest.approx(10.0)
    assert meter.observe(1, 106.0, 60) == pytest.approx(10.0)
    # The sender slows down: old samples leave the window, the rate follows.
    meter.observe(1, 112.0, 70)
    assert meter.observe(1, 118.0, 80) == pytest.approx(20 / 12)
    meter.forget(1)
    assert meter.observe(1, 200.0, 80) is None


def test_eta() -> None:
    assert eta_seconds(0, None) == 0
    assert eta_seconds(100, None) is None
    assert eta_seconds(100, 0.0) is None
    assert eta_seconds(100, 25.0) == 4


def test_progress_text_has_counts_rate_and_eta() -> None:
    progress = BroadcastProgress(sent=1200, dropped=3, failed=1, remaining=8796)
    text = progress_text("en", 7, "all active chats", progress, rate=28.04)
    assert "Broadcast #7" in text
    assert "Sent 1,200 · blocked 3 · failed 1 · remaining 8,796 (of 10,000)" in text
    assert "28 messages/s" in text
    assert "5 min 14 s left" in text
    spanish = progress_text("es", 7, "todos", progress, rate=None)
    assert "Enviados 1200" in spanish or "Enviados 1.200" in spanish
    assert "Midiendo" in spanish


def test_summaries_for_done_and_stopped() -> None:
    done = BroadcastProgress(sent=497, dropped=3)
    text = summary_text("en", 2, "all", done, elapsed=21, cancelled=False)
    assert "finished" in text
    assert "Sent 497 · blocked 3 · failed 0 (of 500) in 21 s" in text
    stopped = BroadcastProgress(sent=120, cancelled=380)
    text = summary_text("es", 2, "todos", stopped, elapsed=65, cancelled=True)
    assert "detenida" in text
    assert "sin enviar 380" in text
    assert "1 min 05 s" in text
