from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.formatting import (
    MESSAGE_LIMIT,
    article_block,
    pack,
    plain,
    snippet_html,
    truncate,
    utf16_len,
    visible_length,
)
from bot.search.snippet import Segment
from bot.store.articles import Article

NASTY = "<script>alert('x')</script> & <b>unbalanced <i> Tom & Jerry > 3 &amp;"


def _article(title: str, summary: str = "", url: str | None = None) -> Article:
    return Article(1, None, url, title, summary, "en", 1_700_000_000, ("migration",))


def test_article_text_is_escaped() -> None:
    block = article_block(
        _article(NASTY, NASTY, 'https://ex.org/?a=1&b="2"'), language="en", topic_names={}
    )
    assert "<script>" not in block
    assert "&lt;script&gt;" in block
    assert 'href="https://ex.org/?a=1&amp;b=&quot;2&quot;"' in block
    assert plain(block).count("Tom & Jerry") == 2


def test_only_http_links() -> None:
    block = article_block(_article("T", url="javascript:alert(1)"), language="en", topic_names={})
    assert "<a " not in block


def test_very_long_titles_are_cut() -> None:
    block = article_block(_article("word " * 2000), language="en", topic_names={})
    assert visible_length(block) < 800


def test_truncate_is_word_aligned() -> None:
    assert truncate("one two three four", 12) == "one two…"
    assert truncate("short", 12) == "short"


def test_snippet_marks_are_bold_and_escaped() -> None:
    html_text = snippet_html([Segment("a <b> "), Segment("Juárez", marked=True)])
    assert html_text == "a &lt;b&gt; <b>Juárez</b>"


def test_utf16_counts_emoji_twice() -> None:
    assert utf16_len("😀") == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=3000), min_size=1, max_size=12))
def test_pack_never_exceeds_the_limit_and_loses_no_block(texts: list[str]) -> None:
    blocks = [html.escape(text) or "-" for text in texts]
    messages = pack(blocks, header="<b>Header</b>", footer="<i>footer</i>")
    assert all(visible_length(message) <= MESSAGE_LIMIT for message in messages)
    joined = "".join(plain(message) for message in messages)
    for block in blocks:
        if visible_length(block) <= MESSAGE_LIMIT - 16:
            assert plain(block) in joined
