"""The bot's languages are listed once, in `bot.languages`, and every rule reads that list.

A copy of the list in a feature (search's `lang:`, a feed's language, the settings,
the catalogues) is where a third language would be forgotten; this walks the source
for a second `LANGUAGES` or a literal list of the codes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bot
from bot import languages
from bot.config import Settings
from bot.i18n import catalogue

PACKAGE = Path(bot.__file__).resolve().parent
HOME = Path(languages.__file__).resolve()


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path.resolve() != HOME)


def _copies(path: Path) -> list[str]:
    """Where `path` defines a LANGUAGES of its own or spells the codes out as a list."""
    found: list[str] = []
    codes = set(languages.LANGUAGES)
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(target, ast.Name) and target.id == "LANGUAGES" for target in targets):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} defines LANGUAGES")
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and node.elts:
            values = {elt.value for elt in node.elts if isinstance(elt, ast.Constant)}
            if len(values) == len(node.elts) and values == codes:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} lists the codes")
    return found


def test_the_languages_are_defined_in_one_place() -> None:
    copies = [copy for path in _modules() for copy in _copies(path)]
    assert copies == []


def test_every_language_has_catalogues_and_may_be_the_default() -> None:
    for code in languages.LANGUAGES:
        assert catalogue(code), code
        assert Settings(_env_file=None, default_language=code).default_language == code  # type: ignore[call-arg]
