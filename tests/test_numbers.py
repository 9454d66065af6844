"""`whole_number`: what strangers type as a number is one only when it safely is."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.numbers import LARGEST, whole_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [("42", 42), (" 7 ", 7), ("0", 0), (str(LARGEST), LARGEST), ("-5", None)],
)
def test_ascii_digits_are_numbers(text: str, expected: int | None) -> None:
    assert whole_number(text) == expected


@pytest.mark.parametrize(
    "text", ["", "²", "٣", "1²", "+3", "3.0", "1_000", str(LARGEST + 1), "9" * 5000, "--1"]
)
def test_anything_else_is_not(text: str) -> None:
    assert whole_number(text) is None
    assert whole_number(text, signed=True) is None


def test_signed_numbers_when_asked() -> None:
    assert whole_number("-1001234", signed=True) == -1001234
    assert whole_number("-", signed=True) is None


@given(st.text())
def test_never_raises_and_always_fits_sqlite(text: str) -> None:
    value = whole_number(text, signed=True)
    assert value is None or -LARGEST <= value <= LARGEST
