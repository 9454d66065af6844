"""Digest messages: headers, groups, paging, limits and escaping (pure)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.digest.compose import DigestMessage, PageRef, compose, group_heading, parse_callback
from bot.digest.select import Group, Selection
from bot.formatting import MESSAGE_LIMIT, visible_length
from bot.store.articles import Article

NOW = 1_735_700_400  # 2025-01-01 03:00 UTC: still 31 December in Mexico City
NAMES = {"migration": "Migration", "economy": "Economy"}
REF = PageRef(after_id=100, upto_id=200)


def article(
    i: int, *, title: str | None = None, summary: str = "", topics: tuple[str, ...] = ()
) -> Article:
    return Article(
        id=i,
        feed_id=None,
        url=f"https://example.org/{i}",
        title=title if title is not None else f"Title {i}",
        summary=summary or f"Summary {i}",
        language="en",
        published_at=NOW - i,
        topics=topics,
    )


def digest(
    selection: Selection, articles: dict[int, Article], **overrides: object
) -> list[DigestMessage]:
    options: dict[str, object] = {
        "language": "en",
        "timezone": "UTC",
        "now": NOW,
        "heading": "daily",
        "topic_names": NAMES,
        "max_items": 10,
        "ref": REF,
    }
    options.update(overrides)
    return compose(selection, articles, **options)  # type: ignore[arg-type]


def test_header_shows_the_local_date_in_the_targets_language() -> None:
    articles = {1: article(1)}
    selection = Selection((Group("migration", (1,)),))
    [english] = digest(selection, articles, timezone="America/Mexico_City")
    [spanish] = digest(selection, articles, timezone="America/Mexico_City", language="es")
    assert "December 31, 2024" in english.text or "31 December 2024" in english.text
    assert "31 de diciembre de 2024" in spanish.text
    assert "resumen diario" in spanish.text
    assert english.reply_markup is None


def test_groups_have_headings_and_items_are_numbered_across_them() -> None:
    articles = {i: article(i) for i in (1, 2, 3)}
    selection = Selection((Group("migration", (1, 2)), Group(None, (3,), ("border", "wall"))))
    [message] = digest(selection, articles)
    text = message.text
    assert text.index("Migration") < text.index("1. ") < text.index("2. ")
    assert text.index("2. ") < text.index("Keywords: “border”, “wall”") < text.index("3. ")


def test_more_than_max_items_lists_the_first_and_offers_the_rest() -> None:
    articles = {i: article(i) for i in range(1, 26)}
    selection = Selection((Group("migration", tuple(range(1, 26))),))
    messages = digest(selection, articles)
    text = "".join(m.text for m in messages)
    assert "10. " in text
    assert "11. " not in text
    assert "and 15 more" in text
    markup = messages[-1].reply_markup
    assert markup is not None
    [[button]] = markup["inline_keyboard"]
    assert button["text"] == "Show 15 more"
    data = button["callback_data"]
    assert data.startswith("dg:")
    assert len(data.encode()) <= 64
    assert parse_callback(data) == (REF, 10)


def test_a_later_page_continues_numbering_and_repeats_the_group_heading() -> None:
    articles = {i: article(i) for i in range(1, 26)}
    selection = Selection((Group("migration", tuple(range(1, 26))),))
    messages = digest(selection, articles, offset=20, heading="more")
    text = "".join(m.text for m in messages)
    assert "More from your digest" in text
    assert "Migration" in text
    assert "21. " in text
    assert "25. " in text
    assert "20. " not in text
    assert messages[-1].reply_markup is None


def test_nothing_to_show_gives_no_message() -> None:
    assert digest(Selection(), {}) == []
    assert digest(Selection((Group("migration", (9,)),)), {}) == []  # deleted since


def test_callback_data_is_refused_unless_well_formed() -> None:
    assert parse_callback("dg:2:3:4") == (PageRef(2, 3), 4)
    # A button made when buttons named their target still pages.
    assert parse_callback("dg:1:2:3:4") == (PageRef(2, 3, target_id=1), 4)
    for bad in (None, "", "dg:2:3", "dg:5:3:0", "dg:a:2:3", "st:1:2:3", "dg:1:2:3:4:5"):
        assert parse_callback(bad) is None
    huge = PageRef(10**12 - 2, 10**12 - 1).data(999_999)
    assert len(huge.encode()) <= 64
    assert parse_callback(huge) == (PageRef(10**12 - 2, 10**12 - 1), 999_999)


class TagChecker(HTMLParser):
    """Collects the tags of a message; any tag but b/i/a, and the blockquote a long
    summary is folded in (`formatting.summary_html`), means unescaped text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("b", "i", "a", "blockquote"):
            self.bad.append(tag)
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.bad.append("/" + tag)


ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot);)")
NO_SURROGATES: list[Any] = ["Cs"]  # SQLite text cannot hold them
hostile = st.text(
    alphabet=st.sampled_from(list("<>&\"' abcxyzñé😀\n"))
    | st.characters(exclude_categories=NO_SURROGATES),
    max_size=700,
)
ITEM = re.compile(r"(?m)^\d+\. <b>")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(titles=[("", "0" * 201)], max_items=1, language="en", keywords=[""])  # a long summary
@given(
    titles=st.lists(st.tuples(hostile, hostile), min_size=1, max_size=60),
    max_items=st.integers(1, 50),
    language=st.sampled_from(["en", "es"]),
    keywords=st.lists(hostile, min_size=1, max_size=3),
)
def test_messages_fit_telegram_and_all_article_text_is_escaped(
    titles: list[tuple[str, str]], max_items: int, language: str, keywords: list[str]
) -> None:
    articles = {
        i: article(i, title=title, summary=summary, topics=("migration",))
        for i, (title, summary) in enumerate(titles, 1)
    }
    ids = tuple(articles)
    half = len(ids) // 2
    selection = Selection(
        (Group("migration", ids[:half]), Group(None, ids[half:], tuple(keywords)))
    )
    messages = digest(selection, articles, max_items=max_items, language=language)
    assert messages
    for message in messages:
        assert 0 < visible_length(message.text) <= MESSAGE_LIMIT
        assert len(message.text.encode("utf-16-le")) // 2 <= 3 * MESSAGE_LIMIT
        checker = TagChecker()
        checker.feed(message.text)
        checker.close()
        assert checker.bad == []
        assert checker.open == []
        assert ENTITY.search(message.text) is None
    listed = sum(len(ITEM.findall(m.text)) for m in messages)
    assert listed == min(max_items, len(ids))


def test_keyword_headings_quote_as_their_language_does() -> None:
    spanish = group_heading(None, ["juarez", "ciudad"], language="es", topic_names={})
    assert "«juarez», «ciudad»" in spanish
    assert "“" not in spanish
    english = group_heading(None, ["juarez"], language="en", topic_names={})
    assert "“juarez”" in english
