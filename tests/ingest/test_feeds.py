"""parse_feed on small but realistic RSS and Atom documents, good and bad."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.entry import Entry, ParsedFeed, SourceError
from bot.ingest.parse import describe_size, parse_feed
from tests.ingest.conftest import FIXTURES

BASE = "https://news.example.org/feed/"


def _parse(name: str, content_type: str | None = None) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), url=BASE, content_type=content_type)


def _unix(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def test_rss20() -> None:
    feed = _parse("rss20.xml", content_type="application/rss+xml; charset=utf-8")

    assert feed.title == "Marxist Voice & Review"
    assert feed.language == "en"
    assert feed.entries == [
        Entry(
            title="Death of Migrants in Ciudad Juárez, Mexico: "
            "Capitalism and Its Representatives to Blame",
            summary="On March 27, a humanitarian catastrophe occurred at a migration detention"
            " center in Ciudad Juárez, which resulted in around 40 deaths.\n\n"
            "More than 20 people were left in critical condition.",
            url="https://news.example.org/articles/death-of-migrants-ciudad-juarez",
            guid="news.example.org-1842",
            published_at=_unix(2023, 3, 30, 20, 5),
            language=None,  # only the feed declares it: a hint for detection
            categories=("Migration", "Mexico"),
        ),
        Entry(
            title="AMLO’s March on 27N: Huge Demonstration of the Mexican People’s Strength",
            summary="1.2 million people flooded the streets of Mexico City — a powerful show of"
            " strength\nby the Mexican people.",
            url="https://news.example.org/articles/amlo-march-27n",
            guid="https://news.example.org/articles/amlo-march-27n",
            published_at=_unix(2022, 11, 28, 9, 30),
            language=None,
        ),
        Entry(
            title="Summit of the Americas Showcases Defiance of US Domination",
            summary="The Summit of the Americas held in Los Angeles on June 6–10 was a complete"
            " disaster.",
            url="https://news.example.org/articles/summit-of-the-americas",
            published_at=_unix(2022, 6, 14, 12),
            language=None,
        ),
        # The fourth item has neither title nor summary and is skipped.
    ]


def test_rss10_rdf() -> None:
    feed = _parse("rss10.rdf")

    assert feed.title == "Marxist Voice (RSS 1.0)"
    assert feed.language == "en"
    assert [entry.title for entry in feed.entries] == [
        "Mexican Marxists Discuss the Tasks of Revolution at Their 21st Congress!",
        "500 Years After the Fall of Mexico-Tenochtitlán: A Marxist Perspective",
    ]
    first, second = feed.entries
    assert first.published_at == _unix(2022, 5, 24, 15)
    assert first.categories == ("Congress",)
    assert second.url == "https://news.example.org/articles/fall-of-tenochtitlan"
    assert second.published_at is None


def test_rss091() -> None:
    feed = _parse("rss091.xml")

    assert feed.title == "Marxist Voice Classic"
    assert [entry.summary for entry in feed.entries] == [
        "The struggle in the streets made it impossible for women's rights to be ignored any"
        " longer.",
        "Last week, 20-year-old Alexis went missing in Cancún.",
    ]


def test_atom10() -> None:
    feed = _parse("atom10.xml")

    assert feed.title == "Marxist Voice Atom"  # type="html" title, markup removed
    assert feed.language == "en"
    villa, muerte, momentum = feed.entries
    assert villa == Entry(
        title="[Video] Villa, Zapata, and the Mexican Revolution",
        summary="Socialist Revolution editor John Peterson gives an account of the lives of"
        " Pancho Villa & Emiliano Zapata.",
        url="https://news.example.org/feed/articles/villa-zapata",  # relative to the feed URL
        guid="tag:news.example.org,2021:villa-zapata",
        published_at=_unix(2021, 11, 20, 14),  # published wins over updated
        language=None,
        categories=("History", "video"),
    )
    # xml:lang on the entry beats the feed's; xhtml content stands in for a summary.
    assert muerte.language == "es"
    assert muerte.summary == (
        "En un centro de detención migratoria en Ciudad Juárez, se registró una catástrofe"
        " humanitaria."
    )
    assert muerte.published_at == _unix(2023, 3, 29, 10)
    # type="text" is literal text, not markup; javascript: links are dropped.
    assert momentum.title == "Momentum Continues with #CommunismOnCampus Campaign! <3"
    assert momentum.summary == "Students <everywhere> are engaging with the ideas of Marxism!"
    assert momentum.url is None


def test_spanish_feed_with_regional_language() -> None:
    feed = _parse("es_mx.xml")

    assert feed.language == "es"
    assert {entry.language for entry in feed.entries} == {None}  # the feed's hint only
    first = feed.entries[0]
    assert first.summary.endswith("decesos. Al momento de escribir este artículo se habla de […]")
    assert first.categories == ("Migración",)
    assert first.published_at == _unix(2023, 3, 30, 1, 45)


def test_iso_8859_1_declared_correctly() -> None:
    feed = _parse("latin1.xml", content_type="text/xml")

    assert feed.title == "Crónica Latina"
    assert feed.language == "es"
    (entry,) = feed.entries
    assert entry.title == "Año nuevo en Ciudad Juárez: ¿qué cambió?"
    assert entry.summary == (
        "Las familias de la frontera celebran el año con esperanza y señales de lucha."
    )


def test_wrong_declared_encoding_is_still_read() -> None:
    feed = _parse("wrong_encoding.xml", content_type="application/xml; charset=utf-8")

    (entry,) = feed.entries
    assert entry.title == "Women’s rights in Cancún"
    assert entry.summary == "The café owners “stood firm”."


def test_header_charset_applies_when_the_document_declares_none() -> None:
    body = "<rss version='2.0'><channel><title>Жизнь</title></channel></rss>".encode("koi8-r")

    assert parse_feed(body, content_type="text/xml; charset=koi8-r").title == "Жизнь"


def test_malformed_xml_with_entries_is_accepted() -> None:
    feed = _parse("malformed.xml")

    assert feed.title == "Sloppy CMS & Friends"
    assert [(entry.title, entry.url) for entry in feed.entries] == [
        ("Unescaped & ampersands everywhere", "https://sloppy.example.org/1"),
        ("Second item", "https://sloppy.example.org/2"),
    ]


def test_an_empty_but_valid_feed_is_fine() -> None:
    feed = parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>')

    assert feed == ParsedFeed(title=None, language=None, entries=[])


@pytest.mark.parametrize(
    ("name", "content_type", "hint"),
    [
        ("page.html", "text/html; charset=utf-8", " (it looks like a web page)"),
        ("page.html", None, " (it looks like a web page)"),
        ("data.json", "application/json", " (it looks like JSON)"),
        ("garbage.bin", None, ""),
    ],
)
def test_not_a_feed(name: str, content_type: str | None, hint: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_feed((FIXTURES / name).read_bytes(), url=BASE, content_type=content_type)

    assert str(caught.value) == f"{BASE} is not an RSS or Atom feed{hint}"


@pytest.mark.parametrize("body", [b"", b"  \n ", b"<rss", b"<feed><entry>"])
def test_nothing_usable(body: bytes) -> None:
    with pytest.raises(SourceError, match=r"^the document is "):
        parse_feed(body)


def test_credentials_never_appear_in_messages() -> None:
    with pytest.raises(SourceError) as caught:
        parse_feed(b"<html></html>", url="https://user:secret@example.org/feed")

    assert "secret" not in str(caught.value)


def test_size_guard() -> None:
    with pytest.raises(SourceError, match=r"^the document is larger than 1 kB$"):
        parse_feed((FIXTURES / "rss20.xml").read_bytes(), max_bytes=1000)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (1 << 30, "1.1 GB"),
        (10_000_000, "10 MB"),
        (10 * 1024 * 1024, "10.5 MB"),
        (1_500, "1.5 kB"),
        (999, "999 bytes"),
    ],
)
def test_sizes_read_naturally(size: int, text: str) -> None:
    assert describe_size(size) == text


def test_a_path_in_the_body_is_not_opened() -> None:
    # Given a str or bytes that names a file, feedparser would read that file.
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        parse_feed(str(FIXTURES / "rss20.xml").encode())


def test_entity_tricks_do_not_expand() -> None:
    body = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<rss version="2.0"><channel><title>t</title>
<item><title>&e;</title><description>&xxe;</description></item></channel></rss>"""

    (entry,) = parse_feed(body).entries

    assert len(entry.title) < 100
    assert "root" not in entry.summary


def test_title_made_from_summary_when_missing() -> None:
    body = (
        b'<rss version="2.0"><channel><item><description>A very long description that goes'
        b" on and on well past the length any reasonable title could ever have in a chat"
        b" message.</description></item></channel></rss>"
    )

    (entry,) = parse_feed(body).entries

    assert entry.title == (
        "A very long description that goes on and on well past the length any reasonable…"
    )


def test_other_declared_languages_are_left_to_detection() -> None:
    body = (
        b'<rss version="2.0"><channel><language>fr-FR</language>'
        b"<item><title>Bonjour</title></item></channel></rss>"
    )

    feed = parse_feed(body)

    assert feed.language is None
    assert feed.entries[0].language is None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_feed_or_a_source_error(body: bytes) -> None:
    try:
        parse_feed(body)
    except SourceError as exc:
        message = str(exc)
    else:
        return
    assert "\n" not in message


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=300))
def test_any_text_inside_an_item_parses(text: str) -> None:
    body = (
        f'<rss version="2.0"><channel><item><title>{escape(text)}</title>'
        f"<description>{escape(text)}</description></item></channel></rss>"
    ).encode()
    with contextlib.suppress(SourceError):
        parse_feed(body)


def test_xml_base_wins_over_the_document_url() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://other.example/blog/">
    <title>t</title>
    <entry><title>a</title><link href="post-1"/><id>1</id></entry>
    <entry xml:base="/news/"><title>b</title><link href="post-2"/><id>2</id></entry>
    </feed>"""

    feed = parse_feed(body, url="https://feeds.example.org/atom")

    assert [entry.url for entry in feed.entries] == [
        "https://other.example/blog/post-1",
        "https://other.example/news/post-2",
    ]


def test_a_feed_declaring_one_language_for_everything_does_not_mislabel() -> None:
    """Many CMSs declare en-US for every item; the text decides, the feed breaks ties."""
    from bot.config import DATA_DIR
    from bot.ingest.pipeline import prepare
    from bot.topics import load_catalogue

    feed = parse_feed(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<language>en-us</language>"
        b"<item><title>La muerte de migrantes en la frontera</title>"
        b"<description>Un centro de detenci\xc3\xb3n de la ciudad</description></item>"
        b"<item><title>Zapata</title><description>1910</description></item>"
        b"</channel></rss>"
    )
    catalogue = load_catalogue(DATA_DIR / "topics.toml")
    languages = [
        prepare(entry, source="t", catalogue=catalogue, now=0, feed_language=feed.language).language
        for entry in feed.entries
    ]
    assert languages == ["es", "en"]
