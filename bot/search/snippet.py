"""A short excerpt of a hit with the matching words marked.

The index holds stems, not text, so the excerpt is cut from the article's own
words: each word is stemmed like a query term and marked when a query stem
(or prefix) matches it. The result is plain segments; formatting (HTML for
Telegram, plain for the terminal) is the caller's concern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text import fold, stem_english, stem_spanish

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool = False


def make_snippet(
    text: str,
    stems: frozenset[str],
    prefixes: tuple[str, ...] = (),
    *,
    width: int = 200,
) -> list[Segment]:
    """Up to about `width` characters of `text` around its first matching word."""
    spans: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        folded = fold(match.group())
        if (
            stem_english([folded])[0] in stems
            or stem_spanish([folded])[0] in stems
            or any(folded.startswith(prefix) for prefix in prefixes)
        ):
            spans.append(match.span())
    start = 0
    if spans and spans[0][0] > width // 3:
        start = _word_start(text, spans[0][0] - width // 4)
    end = len(text) if len(text) - start <= width else _word_end(text, start + width)
    segments: list[Segment] = []
    if start > 0:
        segments.append(Segment("…"))
    cursor = start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        if span_start > cursor:
            segments.append(Segment(text[cursor:span_start]))
        segments.append(Segment(text[span_start:span_end], marked=True))
        cursor = span_end
    if cursor < end:
        segments.append(Segment(text[cursor:end]))
    if end < len(text):
        segments.append(Segment("…"))
    return segments


def _word_start(text: str, position: int) -> int:
    position = max(0, position)
    space = text.rfind(" ", 0, position)
    return 0 if space < 0 else space + 1


def _word_end(text: str, position: int) -> int:
    space = text.rfind(" ", 0, position)
    return position if space <= 0 else space
