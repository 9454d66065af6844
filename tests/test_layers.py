"""Every import inside `bot/` points down the floors the README's "How it works" names.

Floors, bottom up: the store; the shared pieces (settings, languages, formatting,
numbers, catalogues of text, logs, text folding and stemming, the topic catalogue,
the services object);
search and delivery; the domain (digests,
ingest, admin, the reader's rules and preferences, channels, opening the
content); the
Telegram adapter; the entry points. The emulator stands apart: the bot uses it
only from its entry points, and it uses nothing of the bot.

`UPWARD` lists the arrows that still point up, each waiting for its move (none
is left). The test fails on any other upward arrow, and on an entry of `UPWARD`
that is gone, so the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS: tuple[tuple[str, ...], ...] = (
    # The metrics import nothing of the bot, so the store can time its own writer.
    ("bot.store", "bot.metrics"),
    (
        "bot.config",
        "bot.languages",
        "bot.formatting",
        "bot.numbers",
        "bot.i18n",
        "bot.logs",
        "bot.terminal",
        "bot.errors",
        "bot.text",
        "bot.topics",
        "bot.alerts",
        "bot.services",
    ),
    ("bot.search", "bot.delivery"),
    (
        "bot.digest",
        "bot.ingest",
        "bot.admin",
        "bot.reader",
        "bot.preferences",
        "bot.channels",
        "bot.runtime",
        "bot.doctor",
        "bot.gauges",
    ),
    ("bot.telegram",),
    ("bot.cli", "bot.chat", "bot.__main__", "bot"),
)
ENTRY_POINTS = FLOORS[-1]
UPWARD: set[tuple[str, str]] = set()


def floor(module: str) -> int:
    """The floor of the longest name that `module` is or lies under."""
    best: tuple[int, int] | None = None
    for level, names in enumerate(FLOORS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (
                best is None or len(name) > best[1]
            ):
                best = (level, len(name))
    assert best is not None, f"{module} is on no floor: add it to FLOORS"
    return best[0]


def imports() -> set[tuple[str, str]]:
    """(importer, imported) for every import of a `bot` module inside `bot/`."""
    found: set[tuple[str, str]] = set()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found.update((module, name) for name in names if name.split(".")[0] == "bot")
    return found


def test_every_import_points_down() -> None:
    upward = set()
    for importer, imported in imports():
        if importer.startswith("bot.emulator") or imported.startswith("bot.emulator"):
            continue
        if floor(imported) > floor(importer):
            upward.add((importer, imported))
    assert upward - UPWARD == set(), "imports that point up"
    assert UPWARD - upward == set(), "moved: take them off UPWARD"


def test_the_emulator_stands_apart() -> None:
    for importer, imported in imports():
        if importer.startswith("bot.emulator"):
            assert imported.startswith("bot.emulator"), (importer, imported)
        elif imported.startswith("bot.emulator"):
            assert floor(importer) in (floor(name) for name in ENTRY_POINTS) or importer in (
                "bot.runtime",
            ), (importer, imported)
