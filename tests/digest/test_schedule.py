"""Digest times across daylight-saving changes and zones without DST."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.schedule import local_instant, next_digest_at

ZONES = [
    "America/New_York",
    "Europe/Madrid",
    "America/Mexico_City",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "UTC",
]
START = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())


def local(moment: int, zone: str) -> datetime:
    return datetime.fromtimestamp(moment, UTC).astimezone(ZoneInfo(zone))


def ts(zone: str, year: int, month: int, day: int, hour: int, minute: int, fold: int = 0) -> int:
    moment = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)
    return int(moment.timestamp())


def fires(zone: str, minute: int, count: int = 400) -> list[int]:
    """Consecutive runs: each asks for the next time after the previous one."""
    moment, out = START, []
    for _ in range(count):
        fired = next_digest_at("daily", minute, 0, zone, after=moment)
        assert fired is not None
        assert fired > moment
        out.append(fired)
        moment = fired
    return out


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("minute", [0, 30, 120, 135, 150, 165, 180, 480, 1439])
def test_a_year_of_daily_runs_fires_once_on_every_local_day(zone: str, minute: int) -> None:
    moments = fires(zone, minute)
    days = [local(moment, zone).date() for moment in moments]
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(days))
    # At the wall time asked for, except on the one day a year it does not exist.
    off = [m for m in moments if local(m, zone).hour * 60 + local(m, zone).minute != minute]
    assert len(off) <= 2


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("weekday", [0, 6])
def test_a_year_of_weekly_runs_fires_once_a_week_on_the_weekday(zone: str, weekday: int) -> None:
    moment = START
    days: list[date] = []
    for _ in range(60):
        fired = next_digest_at("weekly", 150, weekday, zone, after=moment)
        assert fired is not None
        days.append(local(fired, zone).date())
        moment = fired
    assert {day.weekday() for day in days} == {weekday}
    assert all(b - a == timedelta(days=7) for a, b in itertools.pairwise(days))


def test_a_time_skipped_by_spring_forward_moves_forward_by_the_gap() -> None:
    # New York, 2025-03-09: 02:00 EST jumps to 03:00 EDT.
    before = ts("America/New_York", 2025, 3, 9, 0, 0)
    fired = next_digest_at("daily", 150, 0, "America/New_York", after=before)
    assert fired is not None
    assert local(fired, "America/New_York").replace(tzinfo=None) == datetime(2025, 3, 9, 3, 30)
    # Lord Howe moves only 30 minutes: 02:00 → 02:30 on 2025-10-05.
    before = ts("Australia/Lord_Howe", 2025, 10, 5, 0, 0)
    fired = next_digest_at("daily", 135, 0, "Australia/Lord_Howe", after=before)
    assert fired is not None
    assert local(fired, "Australia/Lord_Howe").replace(tzinfo=None) == datetime(2025, 10, 5, 2, 45)


@pytest.mark.parametrize(
    ("zone", "day", "minute"),
    [
        ("America/New_York", (2025, 11, 2), 90),  # 01:30 happens twice
        ("Europe/Madrid", (2025, 10, 26), 150),  # 02:30 happens twice
        ("Australia/Lord_Howe", (2025, 4, 6), 105),  # 01:45 happens twice (30 min)
        ("Pacific/Chatham", (2025, 4, 6), 195),  # 03:15 happens twice
    ],
)
def test_a_time_repeated_by_fall_back_fires_once_at_its_first_occurrence(
    zone: str, day: tuple[int, int, int], minute: int
) -> None:
    first = ts(zone, *day, minute // 60, minute % 60, fold=0)
    second = ts(zone, *day, minute // 60, minute % 60, fold=1)
    assert second > first  # really ambiguous
    fired = next_digest_at("daily", minute, 0, zone, after=first - 60)
    assert fired == first
    after_first = next_digest_at("daily", minute, 0, zone, after=first)
    assert after_first is not None
    assert local(after_first, zone).date() == date(*day) + timedelta(days=1)
    # Even when asked between the two occurrences (a restart), not again that day.
    between = next_digest_at("daily", minute, 0, zone, after=first + 60)
    assert between == after_first


def test_mexico_city_has_kept_one_offset_since_2022() -> None:
    moments = fires("America/Mexico_City", 480)
    offsets = {local(m, "America/Mexico_City").utcoffset() for m in moments}
    assert offsets == {timedelta(hours=-6)}
    assert {local(m, "America/Mexico_City").hour for m in moments} == {8}


def test_instant_and_off_have_no_schedule() -> None:
    assert next_digest_at("instant", 480, 0, "UTC", after=START) is None
    assert next_digest_at("off", 480, 0, "UTC", after=START) is None


def test_strictly_after_the_given_instant() -> None:
    at_eight = ts("UTC", 2025, 1, 1, 8, 0)
    assert next_digest_at("daily", 480, 0, "UTC", after=at_eight - 1) == at_eight
    assert next_digest_at("daily", 480, 0, "UTC", after=at_eight) == at_eight + 86_400


def test_an_unknown_zone_falls_back_to_utc() -> None:
    at_eight = ts("UTC", 2025, 1, 1, 8, 0)
    assert next_digest_at("daily", 480, 0, "Mars/Olympus", after=at_eight - 1) == at_eight


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from([*ZONES, "Asia/Kolkata", "America/Santiago", "Pacific/Apia"]),
    minute=st.integers(0, 1439),
    weekday=st.integers(0, 6),
    mode=st.sampled_from(["daily", "weekly"]),
    after=st.integers(START - 20 * 365 * 86_400, START + 20 * 365 * 86_400),
)
def test_the_next_time_is_the_first_local_occurrence_after(
    zone: str, minute: int, weekday: int, mode: str, after: int
) -> None:
    fired = next_digest_at(mode, minute, weekday, zone, after=after)
    assert fired is not None
    assert after < fired <= after + 9 * 86_400 + 7_200
    # It is some candidate day's wall time, and no candidate day between `after`
    # and the answer resolves to a time in between.
    first = local(after, zone).date() - timedelta(days=1)
    candidates = [
        local_instant(day, minute, zone)
        for day in (first + timedelta(days=offset) for offset in range(12))
        if mode == "daily" or day.weekday() == weekday
    ]
    assert fired in candidates
    assert not any(after < candidate < fired for candidate in candidates)
