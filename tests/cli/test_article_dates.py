"""The operator CLI shows a date only where the source gave one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.ingest.listing import read_listing
from tests.cli.test_cli import RSS, run
from tests.conftest import SEED

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def test_undated_articles_list_without_a_date(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sample = [entry.title for entry in read_listing(SEED)]
    feed = tmp_path / "feed.xml"
    feed.write_bytes(RSS)  # one item, published 2024-05-20
    assert main(["ingest", str(feed)]) == 0
    capsys.readouterr()

    code, out, err = run(capsys, "latest", "--limit", "20")
    assert code == 0, err
    assert _DATE.findall(out) == ["2024-05-20"], out
    # The sample arrived first but counts at that moment, after 2024, in its own order.
    # Its one story in both languages is one item, the Spanish version a line under it.
    listed = [title for title in sample if f"🇪🇸 {title}" not in out]
    assert len(listed) == len(sample) - 1, out
    positions = [out.find(f". {title}\n") for title in [*listed, "Migrants at the border"]]
    assert -1 not in positions, out
    assert positions == sorted(positions), out

    code, out, err = run(capsys, "latest", "--limit", "20", "--json")
    assert code == 0, err
    dates = {a["title"]: a["published_at"] for a in json.loads(out)}
    assert dates.pop("Migrants at the border") == "2024-05-20T10:00:00+00:00"
    assert set(dates.values()) == {None}
