"""Bot messages shown in a terminal: bold as bold, links with their address."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

BOLD, ITALIC, UNDERLINE, RESET = "\033[1m", "\033[3m", "\033[4m", "\033[0m"
_STYLES = {"bold": BOLD, "italic": ITALIC, "underline": UNDERLINE}


class Styled(Protocol):
    """An entity as Telegram reports it: UTF-16 offsets into the text."""

    @property
    def offset(self) -> int: ...
    @property
    def length(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def url(self) -> str | None: ...


def render(text: str, entities: Sequence[Styled], *, color: bool = True) -> str:
    """Entities become ANSI styles (when `color`); a link's URL follows its text."""
    data = text.encode("utf-16-le", "surrogatepass")
    inserts: dict[int, list[str]] = {}
    for entity in entities:
        end = entity.offset + entity.length
        if entity.type == "text_link" and entity.url:
            inserts.setdefault(end, []).append(f" <{entity.url}>")
        elif color and entity.type in _STYLES:
            inserts.setdefault(entity.offset, []).append(_STYLES[entity.type])
            inserts.setdefault(end, []).insert(0, RESET)
    out: list[str] = []
    cursor = 0
    for position in sorted(inserts):
        out.append(data[cursor * 2 : position * 2].decode("utf-16-le", "replace"))
        out.extend(inserts[position])
        cursor = position
    out.append(data[cursor * 2 :].decode("utf-16-le", "replace"))
    return "".join(out)


def numbered_buttons(rows: Sequence[Sequence[str]]) -> tuple[str, list[tuple[int, int]]]:
    """Keyboard rows as `[1] Topics  [2] Latest` lines, and the (row, column) of each number."""
    lines: list[str] = []
    positions: list[tuple[int, int]] = []
    for row_index, row in enumerate(rows):
        cells = []
        for column_index, text in enumerate(row):
            positions.append((row_index, column_index))
            cells.append(f"[{len(positions)}] {text}")
        lines.append("  ".join(cells))
    return "\n".join(lines), positions
