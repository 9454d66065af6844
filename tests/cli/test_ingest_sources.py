"""`python -m bot ingest` between the operator's own files, which load whole, and
URLs, which meet the limits of other people's servers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.emulator import Emulator

FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Internal</title>
<item><title>Payroll export</title><guid>p1</guid><description>Salaries.</description></item>
</channel></rss>"""
WORDS = "migration strike workers students border union wages rent housing "


def articles_in(settings: Settings) -> int:
    with sqlite3.connect(settings.database_path) as db:
        count: int = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    return count


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    # main() runs its own event loop; a thread keeps the emulator serving meanwhile.
    code = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_ingest_refuses_a_private_address_unless_allowed(
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.feeds.publish("internal.xml", FEED)
    url = emulator.feed_url("internal.xml")
    await cli(capsys, "topics")  # the store exists, with the seed
    before = articles_in(settings)

    monkeypatch.setenv("FEED_ALLOWED_HOSTS", "")
    code, out, err = await cli(capsys, "ingest", url)
    assert (code, out) == (1, "")
    assert err == (
        f"error: {url}: 127.0.0.1 is a private address; set FEED_ALLOWED_HOSTS to allow it\n"
    )
    assert emulator.feeds.hits["internal.xml"] == 0
    assert articles_in(settings) == before

    monkeypatch.setenv("FEED_ALLOWED_HOSTS", "10.0.0.0/8, 127.0.0.0/8")
    code, out, err = await cli(capsys, "ingest", url)
    assert (code, out.strip()) == (0, f"{url}: 1 article read, 1 new"), err
    assert articles_in(settings) == before + 1


def test_an_archive_export_larger_than_the_feed_cap_loads_whole(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A local file is the operator's own: FEED_MAX_BYTES (10.5 MB by default) and
    the entries cap guard against servers, not against an 11.5 MB export."""
    items = "".join(
        f"<item><title>Archive article {n}</title><guid>archive-{n}</guid>"
        f"<link>https://example.org/archive/{n}</link>"
        f"<description>Report {n}: {WORDS * 1_700}</description></item>"
        for n in range(100)
    )
    export = tmp_path / "corpus.xml"
    export.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Archive</title>{items}'
        "</channel></rss>",
        "utf-8",
    )
    assert export.stat().st_size > 11_000_000
    assert export.stat().st_size > settings.feed_max_bytes

    code = main(["ingest", str(export)])

    captured = capsys.readouterr()
    assert (code, captured.out.strip()) == (0, f"{export}: 100 articles read, 100 new"), (
        captured.err
    )
