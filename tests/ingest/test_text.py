"""html_to_text and friends: what readers see of a source's markup."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.text import _TABLE, _translate, clean_text, clean_title, clip, html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("a<br>b<br/>c<br><br>d", "a\nb\nc\n\nd"),
        ("<div>a</div>\n  <div>b</div>", "a\nb"),
        ("<ul>\n <li>one</li>\n <li>two</li>\n</ul>after", "• one\n• two\nafter"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("line\nbreaks   in\tsource <b>are</b> spaces", "line breaks in source are spaces"),
        ("<pre>keep\nthis</pre>", "keep\nthis"),
        ("Q&amp;A &mdash; &#8220;quotes&#x201D; &nbsp;&hellip;", "Q&A — “quotes” …"),
        ("AT&T & friends", "AT&T & friends"),
        ('x<script>alert("<p>hi</p>")</script>y', "xy"),
        ("x<style>p { color: red }</style>y", "xy"),
        ("x<script>never closed <p>text", "x"),
        ("a<script/>b", "ab"),
        ("<noscript><img src=x></noscript>visible", "visible"),
        ("<![CDATA[raw text]]> tail", "raw text tail"),
        ("a <!-- hidden --> b", "a b"),
        ("<p>unclosed <b>bold <i>italic", "unclosed bold italic"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_junk_characters_go_and_real_text_stays() -> None:
    family = "👨\u200d👩\u200d👧"
    dirty = f"Ni\u200bña\u00ad {family} ❤\ufe0f \u202eevil\u202c\x00\x07 \ufeffok"

    assert html_to_text(dirty) == f"Niña {family} ❤\ufe0f evil ok"


def test_windows_1252_read_as_latin_1_is_repaired() -> None:
    assert clean_title("Women\x92s \x93rights\x94\x85 \x81") == "Women’s “rights”…"


def test_clean_text_keeps_paragraphs() -> None:
    assert clean_text("  a \r\n b\r\n\r\n\r\n\r\nc\u2028d  ") == "a\nb\n\nc\nd"


def test_clean_title_is_one_line() -> None:
    assert clean_title("  Two\r\nlines\u2029and\ttabs ") == "Two lines and tabs"
    assert clean_title("<b>Bold</b> &amp; co", html=True) == "Bold & co"
    assert clean_title("<b>Bold</b> &amp; co") == "<b>Bold</b> &amp; co"


_ALLOWED_CONTROLS = {"\n"}
_html_bits = st.sampled_from(
    [
        "<p>", "</p>", "<br>", "<li>", "</li>", "<script>", "</script>", "<style>", "<pre>",
        "</pre>", "<!--", "-->", "<![CDATA[", "]]>", "&amp;", "&#0;", "&#x110000;", "&#xD800;",
        "&", "<", ">", "</", "<a href='x'>", "<td>", "<!DOCTYPE html>", "<?php ?>", "\x00",
        "\r\n", "\u200b", "\ud800", "é", "👍",
    ]
)  # fmt: skip


def _assert_clean(text: str) -> None:
    assert text == text.strip()
    assert "\n\n\n" not in text
    for char in text:
        assert char in _ALLOWED_CONTROLS or unicodedata.category(char) not in {"Cc", "Cs"}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_is_safe(text: str) -> None:
    _assert_clean(html_to_text(text))
    _assert_clean(clean_text(text))
    assert "\n" not in clean_title(text) + clean_title(text, html=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_html_bits, st.text(max_size=5)), max_size=30).map("".join))
def test_any_markup_soup_is_safe(html: str) -> None:
    _assert_clean(html_to_text(html))


def test_the_fast_check_notices_every_character_the_table_changes() -> None:
    for code, replacement in _TABLE.items():
        assert _translate(f"a{chr(code)}b") == f"a{replacement or ''}b", hex(code)


@pytest.mark.parametrize(
    ("text", "limit", "clipped"),
    [
        ("short", 10, "short"),
        ("exactly ten", 11, "exactly ten"),
        ("Strike news. Strike news. Strike news.", 20, "Strike news…"),
        ("First paragraph.\n\nSecond one goes on", 24, "First paragraph…"),
        ("x" * 50, 10, "xxxxxxxxx…"),  # no word to cut at: a hard cut
    ],
)
def test_clip_cuts_at_a_word_within_the_limit(text: str, limit: int, clipped: str) -> None:
    assert clip(text, limit) == clipped
    assert len(clip(text, limit)) <= limit
