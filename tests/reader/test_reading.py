"""The full text as Telegram messages: conversion by sulguk, splitting in UTF-16."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.content import sanitise
from bot.reader.reading import MESSAGE_LIMIT, Part, convert, reading, split
from bot.store.articles import Article, FullContent


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def covered(part: Part, kind: str) -> list[str]:
    """The text under each entity of `kind`, decoded by UTF-16 offsets."""
    raw = part.text.encode("utf-16-le")
    return [
        raw[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in part.entities
        if e["type"] == kind
    ]


ARTICLE = Article(7, None, "https://example.org/a", "A title", "s", "en", 0)


def test_structure_becomes_text_and_entities() -> None:
    part = convert(
        "<h2>Heading</h2><p>Some <strong>bold</strong>, <em>italic</em> and a "
        '<a href="https://example.org/x">link</a>.</p>'
        "<ul><li>one<ul><li>nested</li></ul></li><li>two</li></ul>"
        "<ol><li>first</li><li>second</li></ol>"
        "<blockquote>quoted words</blockquote>"
        '<p><img src="https://example.org/i.jpg" alt="a picture"></p>'
    )
    assert part.text.startswith("Heading\n\nSome bold, italic and a link.")
    assert "• one\n\xa0• nested\n• two" in part.text  # indented by a no-break space
    assert "1. first\n2. second" in part.text
    assert covered(part, "bold")[:2] == ["Heading", "bold"]
    assert covered(part, "italic") == ["italic"]
    assert covered(part, "blockquote") == ["quoted words"]
    links = [e for e in part.entities if e["type"] == "text_link"]
    assert [link["url"] for link in links] == ["https://example.org/x", "https://example.org/i.jpg"]
    assert covered(part, "text_link") == ["link", "🖼️a picture"]


def test_tags_the_converter_does_not_know_are_read_as_their_nearest() -> None:
    part = convert(
        "<figure><img src='https://example.org/i.jpg' alt='x'><figcaption>Caption</figcaption>"
        "</figure><table><tr><th>h1</th><th>h2</th></tr><tr><td>a</td><td>b</td></tr></table>"
        "<dl><dt>term</dt><dd>meaning</dd></dl><p>E = mc<sup>2</sup> <small>small</small></p>"
    )
    for words in ("Caption", "h1 h2", "a b", "term", "meaning", "E = mc2 small"):
        assert words in part.text


def test_broken_html_still_reads() -> None:
    kept = sanitise("<p>open <b>bold <i>both</p><li>stray<div>unclosed", base=None)
    assert kept is not None
    part = convert(kept.html)
    assert "open bold both" in part.text
    assert "stray" in part.text
    assert "unclosed" in part.text


def test_a_short_text_is_one_message_with_the_title_first() -> None:
    parts = reading(ARTICLE, FullContent("<p>Body</p>"), language="en", max_parts=10)
    assert [p.text for p in parts] == ["A title\n\nBody"]
    assert covered(parts[0], "bold") == ["A title"]
    assert [e["url"] for e in parts[0].entities if e["type"] == "text_link"] == [ARTICLE.url]


def test_splits_at_paragraphs_under_the_limit_in_order() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 60 for i in range(100)]
    html = "".join(f"<p>{p}</p>" for p in paragraphs)
    parts = split(convert(html))
    assert len(parts) > 1
    assert all(units(p.text) <= MESSAGE_LIMIT for p in parts)
    # Every part starts with a paragraph: the cuts are at paragraph breaks.
    assert all(p.text.startswith("Paragraph ") for p in parts)
    assert "\n\n".join(p.text for p in parts) == convert(html).text.strip()


def test_an_entity_crossing_a_cut_is_clipped_into_both_parts() -> None:
    html = "<p><b>" + "bold words here " * 600 + "</b></p>"
    parts = split(convert(html))
    assert len(parts) == 3
    for part in parts:
        assert covered(part, "bold") == [part.text]


def test_emoji_are_counted_in_utf16_units() -> None:
    # Each 😀 is one Python character but two UTF-16 units: counted in
    # characters, a part would be twice over Telegram's limit.
    html = "<p>" + "😀 " * 3000 + "</p><p><i>" + "🎉" * 3000 + "</i></p>"
    whole = convert(html)
    parts = split(whole)
    assert all(units(p.text) <= MESSAGE_LIMIT for p in parts)
    assert "".join(p.text for p in parts).replace(" ", "") == whole.text.replace(" ", "").replace(
        "\n", ""
    )
    for part in parts:
        for text in covered(part, "italic"):
            assert set(text) == {"🎉"}  # no half of a surrogate pair


def test_many_parts_are_capped_with_a_link_to_the_rest() -> None:
    html = "".join(f"<p>Paragraph {i} " + "word " * 150 + "</p>" for i in range(200))
    parts = reading(ARTICLE, FullContent(html), language="es", max_parts=4)
    assert len(parts) == 4
    assert all(units(p.text) <= MESSAGE_LIMIT for p in parts)
    assert parts[-1].text.endswith("… sigue leyendo en el sitio")
    assert covered(parts[-1], "text_link")[-1] == "… sigue leyendo en el sitio"


def test_a_truncated_text_says_it_goes_on_even_when_short() -> None:
    parts = reading(ARTICLE, FullContent("<p>Body</p>", truncated=True), language="en", max_parts=5)
    assert parts[-1].text == "A title\n\nBody\n\n… continue reading on the site"


def test_the_largest_stored_text_converts_within_the_cap() -> None:
    html = "".join(
        f"<h3>Part {i}</h3><p>{'text ' * 200}<a href='https://e.org/{i}'>l</a></p>"
        for i in range(300)
    )
    kept = sanitise(html, base=None)
    assert kept is not None
    assert len(kept.html.encode()) > 200_000
    parts = reading(ARTICLE, kept, language="en", max_parts=10)
    assert len(parts) == 10
    assert all(units(p.text) <= MESSAGE_LIMIT for p in parts)


def _entities_valid(part: Part) -> None:
    size = units(part.text)
    for entity in part.entities:
        assert entity["length"] > 0
        assert entity["offset"] >= 0
        assert entity["offset"] + entity["length"] <= size


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["p", "b", "i", "blockquote", "li"]), st.text(min_size=1, max_size=400)
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(min_value=20, max_value=600),
)
def test_split_keeps_every_character_and_entity(pieces: list[tuple[str, str]], limit: int) -> None:
    html = "".join(
        f"<{tag}>{text.replace('<', ' ').replace('&', ' ')}</{tag}>" for tag, text in pieces
    )
    whole = convert(html)
    parts = split(whole, limit)
    for part in parts:
        assert units(part.text) <= limit
        _entities_valid(part)
    squeeze: Any = lambda s: "".join(s.split())  # noqa: E731
    assert squeeze("".join(p.text for p in parts)) == squeeze(whole.text)
