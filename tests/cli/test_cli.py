"""The operator CLI, run in-process on a real database file and a local feed server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import build_parser, main
from bot.config import DATA_DIR, Settings

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Feed</title><language>en</language>
<item><title>Migrants at the border</title><link>https://example.org/a</link>
<guid>a</guid><description>&lt;p&gt;About &lt;b&gt;migration&lt;/b&gt;.&lt;/p&gt;</description>
<pubDate>Mon, 20 May 2024 10:00:00 GMT</pubDate></item>
</channel></rss>"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(["--help"])
    assert caught.value.code == 0
    listing = capsys.readouterr().out
    for name in (
        "ingest",
        "search",
        "latest",
        "topics",
        "retag",
        "backup",
        "doctor",
        "run",
        "chat",
        "store",
    ):
        assert name in listing
        with pytest.raises(SystemExit):
            parser.parse_args([name, "--help"])
        assert "usage:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["store", "copy", "--help"])
    assert "--replace" in capsys.readouterr().out


def test_search_on_the_seed(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "search", "juarez", "--json")
    assert code == 0, err
    results = json.loads(out)["results"]
    # The sample's story in English and Spanish is one result, naming the other.
    assert [hit["language"] for hit in results] == ["en"]
    assert [t["language"] for t in results[0]["translations"]] == ["es"]
    code, out, _ = run(capsys, "search", "migrantes")
    assert code == 0
    assert "Death of Migrants" in out
    assert "La muerte de Migrantes" in out


def test_fts_junk_is_a_clean_answer(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "search", '"unbalanced AND OR NOT (')
    assert code == 0
    assert "No results" in out
    assert "Traceback" not in out + err


def test_topics_and_latest(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "topics", "--json")
    assert code == 0
    topics = json.loads(out)
    assert all(topic["articles"] >= 0 for topic in topics)
    assert sum(topic["articles"] for topic in topics) >= 12
    code, out, _ = run(capsys, "latest", "--lang", "es", "--json")
    assert [a["language"] for a in json.loads(out)] == ["es"]
    code, out, err = run(capsys, "latest", "--topic", "nonsense")
    assert code == 1
    assert err.startswith("error: unknown topic")


def test_ingesting_the_same_file_twice(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "more.txt"
    listing.write_text("A new title about students\n\nA summary about campus life.\n", "utf-8")
    code, out, _ = run(capsys, "ingest", str(listing))
    assert (code, out.strip()) == (0, f"{listing}: 1 article read, 1 new")
    code, out, _ = run(capsys, "ingest", str(listing))
    assert (code, out.strip()) == (0, f"{listing}: 1 article read, 0 new")
    code, out, _ = run(capsys, "ingest", str(DATA_DIR / "articles.txt"))
    assert out.strip().endswith("12 articles read, 0 new")


@pytest.fixture
async def feed_server() -> AsyncIterator[str]:
    async def rss(request: web.Request) -> web.Response:
        return web.Response(body=RSS, content_type="application/rss+xml")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Not a feed</body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/feed.xml", rss)
    app.router.add_get("/page", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_ingest_from_url_and_clear_errors(
    settings: Settings, capsys: pytest.CaptureFixture[str], feed_server: str, tmp_path: Path
) -> None:
    # main() runs its own event loop; run it in a thread so the server keeps serving.
    async def cli(*argv: str) -> tuple[int, str, str]:
        return await asyncio.to_thread(run, capsys, *argv)

    code, out, err = await cli("ingest", f"{feed_server}/feed.xml")
    assert (code, out.strip()) == (0, f"{feed_server}/feed.xml: 1 article read, 1 new"), err
    code, out, err = await cli("search", "migration", "--json")
    assert "Migrants at the border" in [r["title"] for r in json.loads(out)["results"]]

    for bad in (
        f"{feed_server}/page",
        "file:///etc/passwd",
        "http://127.0.0.1:9/feed",
        str(tmp_path / "missing.xml"),
    ):
        code, out, err = await cli("ingest", bad)
        assert code == 1, bad
        assert err.startswith(f"error: {bad}: "), err
        assert err.count("\n") == 1, err
        assert "Traceback" not in err
    code, out, _ = await cli("search", "juarez", "--json")
    (story,) = json.loads(out)["results"]  # the sample's pair, one story, intact
    assert len(story["translations"]) == 1


def test_backup_while_in_use(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "topics")[0] == 0  # the bot's database, created and seeded
    copy = tmp_path / "copy.sqlite3"
    code, _, err = run(capsys, "backup", str(copy))
    assert code == 0, err
    assert copy.exists()
    code, _, err = run(capsys, "backup", str(copy))
    assert code == 1
    assert "exists" in err
