"""Benchmark results as rows of one table, printed and written to BENCHMARKS.md.

Every benchmark (search, ingest, and later command latency, delivery rate,
digest composition, idle memory…) returns a list of `Row`s; nothing here knows
which benchmark made a row, so adding one is adding a module that returns rows.
A row carries its own reference and targets, so "met?" is computed, never typed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.machine import Machine


@dataclass(frozen=True)
class Target:
    """A bound a figure must respect, e.g. `Target("<=", 5, "ms")`."""

    op: Literal["<=", ">="]
    bound: float
    unit: str = ""

    def met(self, value: float) -> bool:
        return value <= self.bound if self.op == "<=" else value >= self.bound

    def __str__(self) -> str:
        sign = "≤" if self.op == "<=" else "≥"
        return f"{sign} {format_value(self.bound, self.unit)}"


@dataclass(frozen=True)
class Row:
    """One figure, what it is compared with, and whether it meets its targets.

    `ratio` is value ÷ reference value, so for a latency lower is better and
    for a rate higher is better; `ratio_target` says which applies.
    `note` explains a miss (why, and what would close it); `detail` is
    free-form evidence (e.g. per-query timings) shown under the table.
    """

    figure: str
    value: float
    unit: str
    reference: str = ""
    reference_value: float | None = None
    target: Target | None = None
    ratio_target: Target | None = None
    note: str = ""
    detail: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference_value is None or self.reference_value == 0:
            return None
        return self.value / self.reference_value

    @property
    def met(self) -> bool | None:
        """None when the row has no target (a figure reported for context)."""
        checks: list[bool] = []
        if self.target is not None:
            checks.append(self.target.met(self.value))
        ratio = self.ratio
        if self.ratio_target is not None and ratio is not None:
            checks.append(self.ratio_target.met(ratio))
        return all(checks) if checks else None

    def target_text(self) -> str:
        parts = [str(self.target)] if self.target else []
        if self.ratio_target:
            parts.append(f"ratio {self.ratio_target}")
        return "; ".join(parts) or "—"


def format_value(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit in ("", "×"):
        text = f"{value:.2f}"
    elif unit in ("entries/s", "articles/s", "/s", "B", "articles"):
        text = f"{value:,.0f}"
    elif unit in ("MB", "MiB"):
        text = f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text}{unit}" if unit in ("×", "%") else f"{text} {unit}".strip()


HEADERS = ("figure", "value", "reference", "reference value", "ratio", "target", "met?")


def _cells(row: Row, note_number: int | None) -> tuple[str, ...]:
    ratio = row.ratio
    met = {None: "—", True: "yes", False: "**no**"}[row.met]
    if note_number is not None:
        met += f" ({note_number})"
    return (
        row.figure,
        format_value(row.value, row.unit),
        row.reference or "—",
        "—" if row.reference_value is None else format_value(row.reference_value, row.unit),
        "—" if ratio is None else format_value(ratio, "×"),
        row.target_text(),
        met,
    )


def _numbered(rows: Sequence[Row]) -> list[tuple[Row, int | None]]:
    """Each row with its note's number; rows with the same note share one."""
    numbers: dict[str, int] = {}
    numbered: list[tuple[Row, int | None]] = []
    for row in rows:
        if row.note:
            numbered.append((row, numbers.setdefault(row.note, len(numbers) + 1)))
        else:
            numbered.append((row, None))
    return numbered


def _notes(rows: Sequence[Row]) -> list[tuple[int, str]]:
    return sorted({number: row.note for row, number in _numbered(rows) if number}.items())


def text_table(rows: Sequence[Row]) -> str:
    """The table for a terminal: aligned columns, notes below."""
    lines = [_cells(row, number) for row, number in _numbered(rows)]
    plain = [tuple(cell.replace("**", "") for cell in line) for line in lines]
    widths = [max(len(h), *(len(line[i]) for line in plain)) for i, h in enumerate(HEADERS)]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in plain]
    out += [f"({number}) {note}" for number, note in _notes(rows)]
    return "\n".join(out)


def markdown(rows: Sequence[Row], *, machine: Machine, command: str, date: str) -> str:
    """The whole BENCHMARKS.md: context, the one table, notes and details."""
    out = [
        "# Benchmarks",
        "",
        "Measured, never asserted: the test suite checks behaviour, this file records speed.",
        f"Regenerate with `{command}` (it rewrites this file).",
        "",
        f"- Date: {date}",
        f"- Command: `{command}`",
        *(f"- {name}: {value}" for name, value in machine.items()),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---"] * len(HEADERS)) + "|",
    ]
    numbered = _numbered(rows)
    for row, number in numbered:
        cells = (cell.replace("|", "\\|") for cell in _cells(row, number))
        out.append("| " + " | ".join(cells) + " |")
    if notes := _notes(rows):
        out += ["", "## Notes", ""]
        out += [f"{number}. {note}" for number, note in notes]
    details = [row for row in rows if row.detail]
    if details:
        out += ["", "## Details"]
        for row in details:
            out += ["", f"### {row.figure}", "", "```text", row.detail.rstrip(), "```"]
    return "\n".join(out) + "\n"


def write(path: Path, rows: Sequence[Row], *, machine: Machine, command: str, date: str) -> None:
    path.write_text(markdown(rows, machine=machine, command=command, date=date), "utf-8")
