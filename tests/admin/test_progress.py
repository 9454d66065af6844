"""Progress text, rate and time left."""

from __future__ import annotations

import pytest

from bot.admin.broadcasting import options
from bot.admin.progress import (
    RateMeter,
    duration,
    eta_seconds,
    progress_text,
    stars_estimate,
    stars_spent,
    summary_text,
)
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


def test_a_paid_broadcast_reports_its_spend_and_pauses() -> None:
    going = BroadcastProgress(sent=1234, dropped=2, remaining=8764)
    assert "Stars" not in progress_text("en", 3, "all", going, rate=900.0)
    text = progress_text("en", 3, "all", going, rate=900.0, paid=True)
    assert "⭐ Paid broadcast: 123.4 Stars spent so far (0.1 a message)" in text
    spanish = progress_text("es", 3, "todos", going, rate=None, paid=True)
    assert "123,4 estrellas gastadas hasta ahora" in spanish

    done = BroadcastProgress(sent=20_000, failed=1)
    text = summary_text("en", 3, "all", done, elapsed=25, cancelled=False, paid=True, paused=7)
    assert "⭐ Paid broadcast: 2,000 Stars spent" in text
    assert "⏸ Paused 7 s by Telegram" in text
    quiet = summary_text("en", 3, "all", done, elapsed=25, cancelled=False)
    assert "Stars" not in quiet
    assert "Paused" not in quiet


@pytest.mark.parametrize(("messages", "stars"), [(0, 0), (1, 1), (10, 1), (11, 2), (20_001, 2001)])
def test_the_estimate_never_understates_the_bill(messages: int, stars: int) -> None:
    assert stars_estimate(messages) == stars
    assert stars_spent(messages) <= stars


def test_options_time_each_budget() -> None:
    free, paid = options(20_000, free_rate=30, paid_rate=1000)
    assert free.seconds == pytest.approx(666.7, abs=0.1)
    assert paid is not None
    assert (paid.seconds, paid.stars) == (20.0, 2000)
    assert options(20_000, free_rate=30, paid_rate=0)[1] is None
