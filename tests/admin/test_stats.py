"""The /stats text and chart, from plain data."""

from __future__ import annotations

import struct
from datetime import date

from bot.admin.chart import render_chart
from bot.admin.stats import (
    Deliveries,
    Series,
    Snapshot,
    cumulative,
    daily,
    last_days,
    stats_text,
)
from bot.store.admin import DeliveryCount


def test_deliveries_from_counts_and_rates() -> None:
    window = Deliveries.from_counts(
        [
            DeliveryCount("digest", "sent", 90),
            DeliveryCount("broadcast", "sent", 5),
            DeliveryCount("broadcast", "dropped", 4),
            DeliveryCount("digest", "failed", 1),
            DeliveryCount("broadcast", "cancelled", 50),
        ]
    )
    assert (window.digests, window.broadcasts, window.sent) == (90, 5, 95)
    assert window.attempted == 100
    assert window.rate(window.blocked) == 0.04
    assert Deliveries().rate(0) == 0.0


def test_series_helpers() -> None:
    days = last_days(date(2025, 3, 2), 3)
    assert days == [date(2025, 2, 28), date(2025, 3, 1), date(2025, 3, 2)]
    assert daily(days, {"2025-03-01": 4}) == [0, 4, 0]
    assert cumulative(10, [0, 4, 1]) == [10, 14, 15]


def snapshot() -> Snapshot:
    week = Deliveries(digests=700, broadcasts=300, sent=1000, failed=10, blocked=20)
    return Snapshot(
        active={"private": 120, "group": 7, "channel": 1},
        inactive={"private": 9},
        topics={"migration": 40, "history": 12, "video": 0},
        languages={"en": 80, "es": 48},
        day=Deliveries(digests=100, sent=100),
        week=week,
        outbox_depth=1234,
        feeds=3,
        feeds_failing=1,
        articles_per_day=[3, 0, 5, 7, 1, 0, 5],
    )


def test_stats_text_in_both_languages() -> None:
    names = {"migration": "Migration <x>", "history": "History"}
    text = stats_text(snapshot(), "en", names)
    assert "Active: 128 (private 120 · groups 7 · channels 1)" in text
    assert "Inactive: 9 (private 9 · groups 0 · channels 0)" in text
    assert "Migration &lt;x&gt; 40 · History 12" in text
    assert "video" not in text
    assert "English 80 · Spanish 48" in text
    assert "7 days: 700 digests, 300 broadcast messages · 1.0% failed, 1.9% blocked" in text
    assert "1,234 waiting" in text
    assert "3 polled, 1 failing" in text
    assert "3 · 0 · 5 · 7 · 1 · 0 · 5 (about 3 a day)" in text
    spanish = stats_text(snapshot(), "es", {})
    assert "Estadísticas" in spanish
    assert "1,0" in spanish


def test_empty_stats_say_none() -> None:
    empty = Snapshot({}, {}, {}, {}, Deliveries(), Deliveries(), 0, 0, 0)
    text = stats_text(empty, "en", {})
    assert "none" in text
    assert "Active: 0" in text


def test_chart_is_a_png_of_the_expected_size() -> None:
    days = last_days(date(2025, 3, 30))
    series = Series(days, cumulative(5, range(30)), [n * 3 for n in range(30)])
    png = render_chart(series, "es")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (800, 500)
    assert png.endswith(b"IEND\xaeB`\x82")
