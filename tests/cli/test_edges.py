"""The CLI at its edges: queries that start with `-`, pages and limits out of range, and
refusals, each one line on stderr with a non-zero exit, as the README promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from tests.cli.test_cli import run

TRAMWAYS = 7  # two pages of five


@pytest.fixture
def tramways(settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Seven articles about tramways, one of them also about a ferry: two pages."""
    blocks = [
        f"Tramway line {n} reopens\n\nThe tramway number {n} runs again"
        + (", next to the ferry." if n == 1 else ".")
        for n in range(1, TRAMWAYS + 1)
    ]
    listing = tmp_path / "tramways.txt"
    listing.write_text("\n\n".join(blocks) + "\n", "utf-8")
    code, out, err = run(capsys, "ingest", str(listing))
    assert (code, err) == (0, ""), out
    assert f"{TRAMWAYS} new" in out


def titles(out: str) -> list[str]:
    return [hit["title"] for hit in json.loads(out)["results"]]


def refused(code: int, out: str, err: str) -> str:
    """The refusal's one line, once checked to be exactly one line on stderr."""
    assert code != 0, (out, err)
    assert out == ""
    assert err.startswith("error: "), err
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.removeprefix("error: ").rstrip("\n")


@pytest.mark.usefixtures("tramways")
@pytest.mark.parametrize(
    "argv",
    [
        ["-ferry", "tramway"],
        ["tramway", "-ferry"],
        ["--json", "--", "-ferry", "tramway"],
        ["-ferry", "--json", "tramway"],
        ["tramway -ferry"],
    ],
)
def test_a_query_may_start_with_a_minus(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, "search", *argv, *([] if "--json" in argv else ["--json"]))
    assert (code, err) == (0, "")
    found = titles(out)
    assert len(found) == 5
    assert "Tramway line 1 reopens" not in found, "the excluded word excludes"
    code, out, _ = run(capsys, "search", "-ferry", "tramway", "--page", "2", "--json")
    assert (code, len(titles(out))) == (0, 1)


@pytest.mark.usefixtures("settings")
def test_words_typed_without_quotes_are_one_query(capsys: pytest.CaptureFixture[str]) -> None:
    quoted = run(capsys, "search", "ciudad juarez", "--json")
    assert quoted[0] == 0
    assert run(capsys, "search", "ciudad", "juarez", "--json") == quoted
    assert run(capsys, "search", "ciudad", "--json", "juarez") == quoted
    code, out, _ = run(capsys, "search", "-video", "--page", "2", "search", "zeppelin")
    assert code == 0
    assert out.startswith("No results for '-video search zeppelin'"), "in the order typed"


@pytest.mark.usefixtures("settings")
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["search", "-video"], "add a word to look for, not only words to exclude"),
        (["search", "--", "-video"], "add a word to look for, not only words to exclude"),
        (["search"], "nothing to search"),
        (["search", "   "], "nothing to search"),
        (["search", "migrants", "lang:fr"], "unknown language"),
        (["search", "topic:nonsense", "migrants"], "unknown topic 'nonsense'"),
        (["search", "mi*"], "a prefix needs at least"),
    ],
)
def test_query_problems_are_refusals(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert expected in refused(code, out, err)
    assert code == 2
    code, out, err = run(capsys, argv[0], "--json", *argv[1:])  # before any `--`
    assert code == 2
    answer = json.loads(out)
    assert answer["results"] == []
    assert answer["problem"]
    assert err == f"error: {answer['message']}\n", "the same words, once for scripts"


@pytest.mark.usefixtures("settings")
@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["search", "migrants", "--page", "0"], "--page"),
        (["search", "migrants", "--page", "-1"], "--page"),
        (["search", "migrants", "--page=-5"], "--page"),
        (["search", "migrants", "--page", "41"], "--page"),
        (["search", "migrants", "--page", "1" + "0" * 40], "--page"),
        (["search", "migrants", "--page", "two"], "--page"),
        (["latest", "--limit", "0"], "--limit"),
        (["latest", "--limit", "-1"], "--limit"),
        (["latest", "--limit=-1"], "--limit"),
        (["latest", "--limit", "1" + "0" * 30], "--limit"),
        (["latest", "--limit", "²"], "--limit"),
    ],
)
def test_pages_and_limits_out_of_range_are_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], option: str
) -> None:
    code, out, err = run(capsys, *argv)
    line = refused(code, out, err)
    assert code == 2
    assert option in line
    assert "from 1 to" in line


@pytest.mark.usefixtures("tramways")
def test_a_page_past_the_end_says_where_the_results_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "search", "tramway", "--page", "2")
    assert (code, err) == (0, "")
    numbers = [line.split(".")[0] for line in out.splitlines() if line[:1].isdigit()]
    assert numbers == ["6", "7"], "page 2 goes on from page 1's numbering"
    for page in ("3", "40"):
        code, out, err = run(capsys, "search", "tramway", "--page", page)
        line = refused(code, out, err)
        assert line == f"page {page} is past the end: the results for 'tramway' end on page 2"
        assert code == 1
    code, out, err = run(capsys, "search", "tramway", "--page", "3", "--json")
    assert code == 1
    assert json.loads(out)["problem"] == "past_end"
    assert err.count("\n") == 1
    # Nothing on any page is no refusal: it is the answer.
    code, out, err = run(capsys, "search", "zeppelin", "--page", "3")
    assert (code, err) == (0, "")
    assert out.startswith("No results for 'zeppelin'")


@pytest.mark.usefixtures("settings")
def test_latest_takes_exactly_its_limit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "latest", "--limit", "1", "--json")
    assert code == 0
    assert len(json.loads(out)) == 1


@pytest.mark.usefixtures("settings")
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["nonsense"], "invalid choice: 'nonsense'"),
        (["topics", "--bogus"], "unrecognized arguments: --bogus"),
        (["search", "migrants", "--jsno"], "unrecognized arguments: --jsno"),
        (["latest", "extra"], "unrecognized arguments: extra"),
        (["latest", "--lang", "fr"], "argument --lang: invalid choice: 'fr'"),
        (["backup"], "the following arguments are required: destination"),
    ],
)
def test_every_usage_error_is_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert expected in refused(code, out, err)
    assert code == 2


def test_backup_json(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "topics")[0] == 0  # creates and seeds the database
    copy = tmp_path / "copy.sqlite3"
    code, out, err = run(capsys, "backup", "--json", str(copy))
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "source": str(settings.database_path),
        "destination": str(copy),
        "bytes": copy.stat().st_size,
    }
    code, out, err = run(capsys, "backup", str(copy), "--json")
    assert refused(code, out, err) == f"{copy} exists; choose a new file name"


def test_a_refusal_from_the_shell(settings: Settings, tmp_path: Path) -> None:
    """The process itself, as a script or an operator meets it: `__main__` passes the
    exit status on, and nothing but the one line reaches stderr."""
    env = {**os.environ, "DATABASE_PATH": str(settings.database_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "search", "-video"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert refused(done.returncode, done.stdout, done.stderr).startswith("add a word")
    assert done.returncode == 2
