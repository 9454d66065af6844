"""Lead images and full content, from feeds served over HTTP on 127.0.0.1 to a real SQLite file.

Each feed goes the poller's way: fetch, parse (in a thread), ingest; what is
checked is what the store gives back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.config import Settings
from bot.ingest.content import MAX_BYTES
from bot.ingest.fetch import fetch, make_client
from bot.ingest.images import image, image_url
from bot.ingest.parse import parse_feed
from bot.ingest.pipeline import MAX_SUMMARY_CHARS, ingest
from bot.store import articles
from bot.store.articles import Article, FullContent, Image
from bot.store.db import Database
from bot.topics import Catalogue
from tests.ingest.conftest import FeedServer

T0 = 1_750_000_000


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(settings.feed_allowed_hosts) as http:
        yield http


async def load(
    client: httpx.AsyncClient, server: FeedServer, db: Database, catalogue: Catalogue, path: str
) -> dict[str, Article]:
    result = await fetch(client, server.url(path))
    parsed = await asyncio.to_thread(
        parse_feed, result.body, url=result.url, content_type=result.content_type
    )
    report = await ingest(db, parsed.entries, source=result.url, catalogue=catalogue, now=T0)
    return {article.title: article for article in await articles.get_many(db, report.new_ids)}


async def test_lead_images_come_from_media_enclosures_and_content(
    client: httpx.AsyncClient, server: FeedServer, db: Database, catalogue: Catalogue
) -> None:
    stored = await load(client, server, db, catalogue, "/feeds/media.xml")

    assert {title: article.image for title, article in stored.items()} == {
        # The largest image of a media group, resolved against the article's link; not the video.
        "Dockworkers strike across the coast": Image(
            "https://news.example.org/images/dock-1200.jpg", 1200, 720
        ),
        "Teachers vote to continue the walkout": Image("https://cdn.example.org/teachers.png"),
        # The first <img> that is not a tracking pixel, relative to the article.
        "Inside the occupied factory": Image(
            "https://news.example.org/2024/factory/photos/assembly.jpg", 800, 533
        ),
        "A post with only a tracking pixel": None,
        # localhost, 10.0.0.1, 2130706433, [::1], 169.254.169.254, ftp:, data:, SVG,
        # 100,000 pixels square, 50 times wider than high, single-label and .localhost hosts.
        "Images nobody may be sent to": None,
        "Only a thumbnail survives": Image("https://cdn.example.org/thumb.jpg", 320, 180),
        "Content that is the summary": None,
    }


async def test_full_content_is_kept_sanitised_and_apart(
    client: httpx.AsyncClient, server: FeedServer, db: Database, catalogue: Catalogue
) -> None:
    stored = await load(client, server, db, catalogue, "/feeds/media.xml")
    factory = stored["Inside the occupied factory"]

    assert await articles.with_full_content(db, [a.id for a in stored.values()]) == {factory.id}
    content = await articles.full_content(db, factory.id)
    assert content is not None
    assert not content.truncated
    html = content.html
    for gone in ("<style", "color: red", "<script", "evil.example", "onclick", "steal", "<iframe",
                 "tracking comment", "javascript", "open.gif"):  # fmt: skip
        assert gone not in html
    assert '<img src="https://news.example.org/2024/factory/photos/assembly.jpg"' in html
    assert '<a href="https://news.example.org/notice">closure notice</a>' in html
    assert "<a>rumour</a>" in html
    assert "<h2>How it began</h2>" in html
    assert "<ul><li>Day one: the gates</li><li>Day two: the kitchen</li></ul>" in html
    assert "<blockquote><p>We are not leaving.</p></blockquote>" in html
    # The summary row is what it always was: the description's text.
    assert factory.summary == "Workers have held the plant for three weeks."
    # A summary-only feed, and content that only repeats the summary, store no text.
    assert await articles.full_content(db, stored["Content that is the summary"].id) is None
    assert await articles.full_content(db, stored["Dockworkers strike across the coast"].id) is None


def _rss(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Generated</title><link>https://long.example.org/</link>{items}</channel></rss>"
    ).encode()


async def test_five_megabytes_of_article_are_cut_at_a_paragraph(
    client: httpx.AsyncClient, server: FeedServer, db: Database, catalogue: Catalogue
) -> None:
    paragraph = "<p>" + "The strike committee met again and voted to go on. " * 20 + "</p>"
    body = "<style>p{}</style>" + (paragraph + "<script>bad()</script>") * 5_000
    assert len(body) > 5_000_000
    server.generated["long.xml"] = _rss(
        "<item><title>A very long report</title><link>https://long.example.org/report</link>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
    )

    stored = await load(client, server, db, catalogue, "/generated/long.xml")

    report = stored["A very long report"]
    assert len(report.summary) <= MAX_SUMMARY_CHARS
    content = await articles.full_content(db, report.id)
    assert content is not None
    assert content.truncated
    assert MAX_BYTES // 2 < len(content.html.encode()) <= MAX_BYTES
    assert content.html.endswith("</p>")
    assert content.html.count("<p>") == content.html.count("</p>")
    assert "<script" not in content.html
    assert "bad()" not in content.html


async def test_content_only_feeds_keep_long_articles_and_mend_broken_html(
    client: httpx.AsyncClient, server: FeedServer, db: Database, catalogue: Catalogue
) -> None:
    long_text = "Assemblies were held in every district of the city. " * 60
    server.generated["only.xml"] = _rss(
        "<item><title>Short and whole</title><link>https://long.example.org/short</link>"
        "<content:encoded><![CDATA[<p>Short enough to be its own summary.</p>]]></content:encoded>"
        "</item>"
        "<item><title>Long and whole</title><link>https://long.example.org/long</link>"
        f"<content:encoded><![CDATA[<p>{long_text}</p><img src='http://10.0.0.1/x.jpg'>"
        "<img src='https://cdn.example.org/chart.svg'><img src='data:image/png;base64,AA=='>"
        "<img><p>unclosed <b>bold <i>and more"
        "]]></content:encoded></item>"
    )

    stored = await load(client, server, db, catalogue, "/generated/only.xml")

    # Whole in its summary: nothing more to read.
    assert await articles.full_content(db, stored["Short and whole"].id) is None
    # Longer than a summary is kept: the whole text, its broken tail closed, no
    # image Telegram could not be sent.
    long = stored["Long and whole"]
    assert long.summary.endswith("…")
    assert await articles.full_content(db, long.id) == FullContent(
        html=f"<p>{long_text}</p><p>unclosed <b>bold <i>and more</i></b></p>"
    )


async def test_atom_content_plain_and_html(
    client: httpx.AsyncClient, server: FeedServer, db: Database, catalogue: Catalogue
) -> None:
    server.generated["atom.xml"] = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>Atom</title><id>urn:atom</id><updated>2024-03-30T00:00:00Z</updated>"
        b"<entry><title>Html</title><id>urn:1</id><link href='https://atom.example.org/a/1'/>"
        b"<updated>2024-03-30T00:00:00Z</updated><summary>A teaser.</summary>"
        b'<content type="html">&lt;p&gt;A teaser, and the rest.&lt;/p&gt;'
        b"&lt;img src='/i/1.webp' width='640' height='360'&gt;</content></entry>"
        b"<entry><title>Plain</title><id>urn:2</id><link href='https://atom.example.org/a/2'/>"
        b"<updated>2024-03-30T00:00:00Z</updated><summary>Two lines.</summary>"
        b'<content type="text">Two lines &lt;b&gt;of text&lt;/b&gt;.\n\nAnd a second.</content>'
        b"</entry></feed>"
    )

    stored = await load(client, server, db, catalogue, "/generated/atom.xml")

    html, plain = stored["Html"], stored["Plain"]
    assert html.image == Image("https://atom.example.org/i/1.webp", 640, 360)
    assert await articles.full_content(db, html.id) == FullContent(
        html='<p>A teaser, and the rest.</p><img src="https://atom.example.org/i/1.webp"'
        ' width="640" height="360">'
    )
    assert plain.image is None
    assert await articles.full_content(db, plain.id) == FullContent(
        html="<p>Two lines &lt;b&gt;of text&lt;/b&gt;.</p><p>And a second.</p>"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/a.jpg",
        "http://LOCALHOST./a.jpg",
        "https://x.localhost/a.jpg",
        "http://127.0.0.1/a.jpg",
        "http://127.1/a.jpg",
        "http://0x7f000001/a.jpg",
        "http://2130706433/a.jpg",
        "http://10.0.0.1/a.jpg",
        "http://192.168.0.7:8080/a.jpg",
        "http://172.16.3.4/a.jpg",
        "http://100.64.0.1/a.jpg",
        "http://169.254.169.254/a.jpg",
        "http://0.0.0.0/a.jpg",
        "http://[::1]/a.jpg",
        "http://[fe80::1]/a.jpg",
        "http://[::ffff:10.0.0.1]/a.jpg",
        "http://intranet/a.jpg",
        "http://user:secret@cdn.example.org/a.jpg",
        "http://cdn.example.org:99999/a.jpg",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://cdn.example.org/a.jpg",
        "//",
        "https://cdn.example.org/a.svg",
        "https://cdn.example.org/a.SVGZ",
        "https://cdn.example.org/" + "a" * 3000 + ".jpg",
        "",
    ],
)
def test_image_urls_refused_without_a_lookup(url: str) -> None:
    assert image_url(url) is None


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://cdn.example.org/a.jpg", None, "https://cdn.example.org/a.jpg"),
        ("http://93.184.215.14/a.jpg", None, "http://93.184.215.14/a.jpg"),
        ("http://[2606:4700::1]/a.jpg", None, "http://[2606:4700::1]/a.jpg"),
        ("/i/a.jpg?w=800", "https://news.example.org/2024/x", "https://news.example.org/i/a.jpg?w=800"),
        ("//cdn.example.org/a.jpg", "https://news.example.org/", "https://cdn.example.org/a.jpg"),
    ],
)  # fmt: skip
def test_image_urls_accepted(url: str, base: str | None, expected: str) -> None:
    assert image_url(url, base) == expected


@pytest.mark.parametrize(
    ("width", "height", "kind", "kept"),
    [
        ("1", "1", None, False),  # a tracking pixel
        ("49", "300", None, False),
        ("50", "50", None, True),
        ("100%", "auto", None, True),  # not pixels: unknown
        (None, None, None, True),
        ("20000", "500", None, False),
        ("6000", "6000", None, False),  # Telegram's 10,000 for width and height together
        ("2100", "100", None, False),  # 21:1
        ("800", "600", "image/svg+xml", False),
        ("800", "600", "video/mp4", False),
        ("800", "600", "image/webp", True),
    ],
)
def test_image_sizes_and_types(
    width: str | None, height: str | None, kind: str | None, kept: bool
) -> None:
    found = image("https://cdn.example.org/a", width, height, media_type=kind)
    assert (found is not None) == kept
