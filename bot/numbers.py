"""Whole numbers from text that strangers control: command arguments, paging
tokens, OPML attributes, HTTP headers.

`str.isdigit` is the wrong test for them: `'²'.isdigit()` is true, yet `int('²')`
raises; `int()` takes Arabic-Indic digits too, refuses numbers over 4,300 digits
with its own error, and a 20-digit id overflows SQLite's 64-bit integers. Every
such parse goes through `whole_number`, so a hostile number is simply not one.
"""

from __future__ import annotations

from typing import Final

LARGEST: Final = 2**63 - 1  # SQLite's INTEGER


def whole_number(text: str, *, signed: bool = False, largest: int = LARGEST) -> int | None:
    """`text` as an int when it is ASCII digits (after a `-` when `signed`) no larger
    than `largest` in magnitude; otherwise None."""
    text = text.strip()
    negative = signed and text.startswith("-")
    digits = text[1:] if negative else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(largest)):
        return None
    value = int(digits)
    if value > largest:
        return None
    return -value if negative else value
