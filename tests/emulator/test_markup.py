"""The parse modes: entities, UTF-16 offsets and Telegram's error texts."""

from __future__ import annotations

import contextlib
import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.emulator.checks import explicit_entities, message_text
from bot.emulator.errors import ApiError
from bot.emulator.html_mode import parse_html
from bot.emulator.markdown_mode import parse_markdown, parse_markdown_v2
from bot.emulator.text import Entity, EntityParseError, utf16_len


def kinds(source: str) -> list[tuple[str, int, int]]:
    return [(e.type, e.offset, e.length) for e in parse_html(source).entities]


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("<b>bold</b> <i>it</i>", "bold it", [("bold", 0, 4), ("italic", 5, 2)]),
        (
            "<strong>a</strong><em>b</em><ins>c</ins>",
            "abc",
            [("bold", 0, 1), ("italic", 1, 1), ("underline", 2, 1)],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [("strikethrough", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)],
        ),
        (
            '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
            "xy",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ("<b>a <i>b</i></b>", "a b", [("bold", 0, 3), ("italic", 2, 1)]),
        ("<code>x</code>", "x", [("code", 0, 1)]),
        ("<blockquote>q</blockquote>", "q", [("blockquote", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<blockquote expandable="">q</blockquote>', "q", [("expandable_blockquote", 0, 1)]),
        (
            "<blockquote>a<blockquote expandable>b</blockquote>c</blockquote>",
            "abc",
            [("blockquote", 0, 3)],
        ),
        (
            "<blockquote expandable>a<blockquote><b>q</b></blockquote></blockquote>",
            "aq",
            [("expandable_blockquote", 0, 2), ("bold", 1, 1)],
        ),
        ("<B>x</B>", "x", [("bold", 0, 1)]),
        ("a &lt; b &gt; c &amp; &quot;d&quot;", 'a < b > c & "d"', []),
        ("&#65;&#x42;&lt", "AB<", []),
        ("AT&T &nbsp; & done", "AT&T &nbsp; & done", []),
        ("<b></b>x", "x", []),
    ],
)
def test_html_accepts_telegram_markup(
    source: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert kinds(source) == entities


def test_offsets_are_utf16_code_units() -> None:
    parsed = parse_html("😀 <b>é😀x</b>")
    assert parsed.entities == (Entity(3, 4, "bold"),)
    assert utf16_len("😀") == 2


def test_links_pre_with_language_and_custom_emoji() -> None:
    parsed = parse_html(
        '<a href="https://example.org/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">x = 1</code></pre> '
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    assert [e.to_api() for e in parsed.entities] == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://example.org/?a=1&b=2"},
        {"type": "pre", "offset": 5, "length": 5, "language": "python"},
        {
            "type": "custom_emoji",
            "offset": 11,
            "length": 2,
            "custom_emoji_id": "5368324170671202286",
        },
    ]


def test_formatting_inside_code_is_dropped() -> None:
    assert kinds("<pre>a<b>b</b></pre>") == [("pre", 0, 2)]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("x <", "Unclosed start tag at byte offset 2"),
        ('<a href="x', "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("é<zz>", 'Unsupported start tag "zz" at byte offset 2'),
        ("<a href=x!>y</a>", "Unexpected end of name token at byte offset 8"),
        ("<a =x>y</a>", 'Empty attribute name in the tag "a" at byte offset 0'),
    ],
)
def test_html_errors_match_telegram(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == error


def test_message_text_trims_and_limits_length() -> None:
    assert message_text("  <b> hi </b>  ", "HTML", None).text == "hi"
    assert message_text("x" * 4096, None, None).text == "x" * 4096
    assert message_text("<b>" + "x" * 4096 + "</b>", "HTML", None).text == "x" * 4096
    with pytest.raises(ApiError, match="message is too long"):
        message_text("😀" * 2049, None, None)
    with pytest.raises(ApiError, match="message text is empty"):
        message_text("<b> </b>", "HTML", None)
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        message_text("x", "BBCode", None)


def test_markdown_v2() -> None:
    parsed = parse_markdown_v2("*b* _i_ __u__ ~s~ ||p|| `c` [l](https://x.org) 1\\.5")
    assert parsed.text == "b i u s p c l 1.5"
    assert [e.type for e in parsed.entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("Hello.")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity at byte offset 0"):
        parse_markdown_v2("*open")


def test_legacy_markdown() -> None:
    parsed = parse_markdown("*b* _i_ `c` [t](https://x.org)")
    assert parsed.text == "b i c t"
    with pytest.raises(EntityParseError, match="Can't find end of the entity starting at byte"):
        parse_markdown("snake_case")


@settings(deadline=None)
@given(st.text())
def test_html_parser_never_crashes(source: str) -> None:
    with contextlib.suppress(EntityParseError):
        parse_html(source)


@settings(deadline=None)
@given(st.text())
def test_escaped_text_is_accepted_verbatim(source: str) -> None:
    parsed = parse_html(html.escape(source))
    assert parsed.text == source
    assert parsed.entities == ()


@settings(deadline=None)
@given(st.text(), st.sampled_from(["b", "i", "u", "s", "code", "tg-spoiler", "blockquote"]))
def test_wrapped_escaped_text_has_one_entity(source: str, tag: str) -> None:
    parsed = parse_html(f"<{tag}>{html.escape(source)}</{tag}>")
    assert parsed.text == source
    assert len(parsed.entities) == (1 if source else 0)
    if source:
        assert parsed.entities[0].length == utf16_len(source)


def test_explicit_blockquotes_do_not_nest() -> None:
    entities = [
        {"type": "blockquote", "offset": 0, "length": 3},
        {"type": "expandable_blockquote", "offset": 1, "length": 1},
        {"type": "bold", "offset": 1, "length": 1},
    ]
    formatted = explicit_entities("abc", entities)
    assert [(e.type, e.offset, e.length) for e in formatted.entities] == [
        ("blockquote", 0, 3),
        ("bold", 1, 1),
    ]
