import pytest

from bot.preferences import Change, Invalid, format_minute, parse_change, parse_time, parse_timezone


@pytest.mark.parametrize(
    ("text", "minute"),
    [
        ("08:00", 480),
        ("8", 480),
        ("8:30", 510),
        ("830", 510),
        ("8pm", 1200),
        ("12am", 0),
        ("20h", 1200),
    ],
)
def test_times(text: str, minute: int) -> None:
    assert parse_time(text) == minute
    assert format_minute(minute) == f"{minute // 60:02d}:{minute % 60:02d}"


@pytest.mark.parametrize("text", ["25:00", "8:61", "soon", "", "-1", "8:30:00"])
def test_bad_times(text: str) -> None:
    assert parse_time(text) is None


def test_timezones_are_case_insensitive() -> None:
    assert parse_timezone("america/mexico_city") == "America/Mexico_City"
    assert parse_timezone("America/Mexico City") == "America/Mexico_City"
    assert parse_timezone("Mars/Olympus") is None


@pytest.mark.parametrize(
    ("field", "value", "column", "expected"),
    [
        ("digest", "instant", "digest_mode", "instant"),
        ("digest", "semanal", "digest_mode", "weekly"),
        ("time", "07:30", "digest_minute", 450),
        ("day", "monday", "digest_weekday", 0),
        ("dia", "miércoles", "digest_weekday", 2),
        ("timezone", "Europe/Madrid", "timezone", "Europe/Madrid"),
        ("language", "es", "ui_language", "es"),
        ("idioma", "English", "ui_language", "en"),
        ("articles", "any", "article_language", None),
        ("articles", "es", "article_language", "es"),
    ],
)
def test_changes(field: str, value: str, column: str, expected: object) -> None:
    change = parse_change(field, value)
    assert isinstance(change, Change)
    assert (change.column, change.value) == (column, expected)


@pytest.mark.parametrize(
    ("field", "value", "problem_field"),
    [
        ("digest", "hourly", "digest"),
        ("colour", "red", None),
        ("language", "fr", "language"),
        ("day", "x", "day"),
    ],
)
def test_invalid(field: str, value: str, problem_field: str | None) -> None:
    change = parse_change(field, value)
    assert isinstance(change, Invalid)
    assert change.field == problem_field
