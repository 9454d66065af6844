"""What `make run` and `make test` install on a fresh clone, read from make's dry run
(`make -n -B`: every target out of date, as on a machine with no `.venv` yet),
and the package metadata a build reads on every install."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
TEST_EXTRA = "test"

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")


def dry_run(target: str) -> list[list[str]]:
    """The commands `make TARGET` would run on a fresh clone, each split as the shell would."""
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "-C", str(ROOT), target],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.replace("\\\n", " ").splitlines()  # a recipe's continued lines are one
    return [shlex.split(line) for line in lines if line.strip()]


def installs(commands: list[list[str]]) -> list[list[str]]:
    """The `pip install` commands that install the project (not pip or uv themselves)."""
    return [
        words
        for words in commands
        if " -m pip install " in f" {' '.join(words)} " and "-e" in words
    ]


def extras(words: list[str]) -> set[str]:
    """The extras an editable install of the project asks for: `.[test]` → {"test"}."""
    target = words[words.index("-e") + 1]
    found = re.fullmatch(r"\.(?:\[(.*)\])?", target)
    assert found, f"the project itself is installed, not {target!r}"
    return {name.strip() for name in (found.group(1) or "").split(",") if name.strip()}


def constrained(words: list[str]) -> bool:
    return "-c" in words and words[words.index("-c") + 1] == "constraints.txt"


def name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert found, requirement
    return found.group(0).lower().replace("_", "-")


@needs_make
def test_make_run_installs_only_what_running_needs() -> None:
    commands = dry_run("run")
    assert commands[-1][-3:] == ["-m", "bot", "run"]
    project = installs(commands)
    assert len(project) == 1, commands
    assert extras(project[0]) == set(), "no test tools to run the bot"
    assert constrained(project[0]), "the pinned versions, as every other install"
    test_tools = {name(r) for r in PYPROJECT["project"]["optional-dependencies"][TEST_EXTRA]}
    running = {name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert {"pytest", "mypy", "ruff", "hypothesis"} <= test_tools
    assert not running & test_tools


@needs_make
@pytest.mark.parametrize("target", ["test", "lint"])
def test_make_test_installs_the_test_extra(target: str) -> None:
    project = installs(dry_run(target))
    assert [extras(words) for words in project] == [{TEST_EXTRA}]
    assert all(constrained(words) for words in project)


@needs_make
def test_make_lock_pins_the_test_extra_too() -> None:
    """`make lock` still resolves the test extra into constraints.txt, so `make test`
    installs pinned tools even though `make run` no longer installs them."""
    compile_ = next(words for words in dry_run("lock") if words[1:3] == ["pip", "compile"])
    assert compile_[compile_.index("--extra") + 1] == TEST_EXTRA
    assert compile_[compile_.index("--output-file") + 1] == "constraints.txt"


def test_the_license_is_an_spdx_expression() -> None:
    """setuptools ≥ 77 deprecates `license = { text = … }` and prints a banner about it
    for each of the three build hooks of every editable install; an SPDX string is the
    form it wants, and the build backend's floor must be one that reads it."""
    assert PYPROJECT["project"]["license"] == "MIT"
    requires = PYPROJECT["build-system"]["requires"]
    floor = next(r for r in requires if name(r) == "setuptools")
    found = re.search(r">=\s*(\d+)", floor)
    assert found, floor
    assert int(found.group(1)) >= 77
