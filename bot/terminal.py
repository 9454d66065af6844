"""Telegram HTML shown in a terminal: bold as bold, links with their address."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

BOLD, ITALIC, UNDERLINE, RESET = "\033[1m", "\033[3m", "\033[4m", "\033[0m"

_STYLES = {"b": BOLD, "strong": BOLD, "i": ITALIC, "em": ITALIC, "u": UNDERLINE, "ins": UNDERLINE}
_TAG = re.compile(r"<(/?)([a-z-]+)([^>]*)>")
_HREF = re.compile(r'href="([^"]*)"')


def render(markup: str, *, color: bool = True) -> str:
    """Tags become ANSI styles (or vanish without colour); a link's URL follows its text."""
    out: list[str] = []
    links: list[str] = []
    position = 0
    for match in _TAG.finditer(markup):
        out.append(html.unescape(markup[position : match.start()]))
        position = match.end()
        closing, name, attributes = match.groups()
        if name == "a":
            if closing:
                url = links.pop() if links else ""
                out.append(f" <{url}>" if url else "")
            else:
                found = _HREF.search(attributes)
                links.append(html.unescape(found.group(1)) if found else "")
        elif color and name in _STYLES:
            out.append(RESET if closing else _STYLES[name])
    out.append(html.unescape(markup[position:]))
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
