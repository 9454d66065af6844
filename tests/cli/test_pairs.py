"""`python -m bot pair`, `unpair` and `pairs`, in-process on a real database file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import Settings
from tests.cli.test_cli import run

LISTING = """\
Harbour strike enters its third week
Language: en
ID: strike-en
URL: https://pub.example/stories/harbour-strike

Dockworkers in Veracruz keep the cranes still.

Huelga portuaria: tercera semana
Language: es
ID: strike-es
Translation: ID: strike-en

Los estibadores de Veracruz mantienen las grúas quietas.

Festival de cine en Guadalajara
Language: es

Cortometrajes de jóvenes directores.
"""


def _ids(capsys: pytest.CaptureFixture[str], listing: Path) -> dict[str, int]:
    code, _, err = run(capsys, "ingest", str(listing))
    assert code == 0, err
    ids: dict[str, int] = {}
    for language in ("en", "es"):  # each language whole: a paired story is listed once
        code, out, err = run(capsys, "latest", "--lang", language, "--limit", "100", "--json")
        assert code == 0, err
        ids |= {article["title"].split()[0]: article["id"] for article in json.loads(out)}
    return ids


def _pairs(capsys: pytest.CaptureFixture[str]) -> dict[tuple[int, int], str]:
    code, out, err = run(capsys, "pairs", "--json")
    assert code == 0, err
    return {(row["ids"][0], row["ids"][1]): row["how"] for row in json.loads(out)}


def test_pair_unpair_and_list(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "listing.txt"
    listing.write_text(LISTING, encoding="utf-8")
    ids = _ids(capsys, listing)
    strike, huelga, festival = ids["Harbour"], ids["Huelga"], ids["Festival"]
    assert _pairs(capsys).get((strike, huelga)) == "explicit"

    code, out, err = run(capsys, "pairs", "--json")
    row = next(r for r in json.loads(out) if r["ids"] == [strike, huelga])
    assert [a["language"] for a in row["articles"]] == ["en", "es"]
    assert row["articles"][1]["title"] == "Huelga portuaria: tercera semana"
    code, out, err = run(capsys, "pairs")
    assert f"#{strike} (en) Harbour strike enters its third week" in out
    assert f"↔ #{huelga} (es) Huelga portuaria: tercera semana  [explicit]" in out

    code, out, err = run(capsys, "pair", str(strike), str(festival))
    assert (code, err) == (0, "")
    assert out.startswith(f"Paired #{strike} (en) Harbour strike")
    assert f"Undone to make it: #{strike} ↔ #{huelga}." in out
    assert _pairs(capsys).get((strike, festival)) == "manual"

    code, out, err = run(capsys, "unpair", str(festival))
    assert code == 0, err
    assert f"only `pair {festival} {strike}` pairs them again" in out
    assert (strike, festival) not in _pairs(capsys)
    # Loading the listing again changes nothing: the veto holds.
    _ids(capsys, listing)
    assert (strike, festival) not in _pairs(capsys)
    code, out, err = run(capsys, "unpair", str(festival))
    assert (code, out.strip()) == (0, f"#{festival} has no translation paired with it.")


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["pair", "{strike}", "{strike}"], 1, "not paired: an article cannot be its own"),
        (["pair", "{huelga}", "{festival}"], 1, "are both in es; a translation is in the other"),
        (["pair", "{strike}", "99999"], 1, "not paired: there is no article #99999"),
        (["unpair", "99999"], 1, "there is no article #99999"),
        (["pair", "{strike}"], 2, "the following arguments are required"),
        (["pair", "x", "1"], 2, "must be a whole number"),
        (["unpair", "0"], 2, "must be a whole number"),
    ],
)
def test_refusals_are_one_line(
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    code: int,
    message: str,
) -> None:
    listing = tmp_path / "listing.txt"
    listing.write_text(LISTING, encoding="utf-8")
    ids = _ids(capsys, listing)
    names = {"strike": ids["Harbour"], "huelga": ids["Huelga"], "festival": ids["Festival"]}
    got, out, err = run(capsys, *(arg.format(**names) for arg in argv))
    assert (got, out) == (code, "")
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    assert message in err
