"""Audience words after /broadcast, and keeping the admin's formatting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.admin.audience import Audience, AudienceError, body_html, describe, parse

TOPICS = {"migration": "migration", "history": "history", "women's rights": "womens-rights"}


def resolve(name: str) -> str | None:
    return TOPICS.get(name.lower()) or (name if name in TOPICS.values() else None)


def test_no_audience_words_means_everyone() -> None:
    request = parse(" Hello everyone!", resolve)
    assert request.audience == Audience()
    assert request.audience.everyone
    assert request.body == "Hello everyone!"
    assert request.body_start == 1


def test_topic_and_language_words_come_first() -> None:
    request = parse(" topic:migration lang:ES  Hola a todos", resolve)
    assert request.audience == Audience(("migration",), "es")
    assert request.body == "Hola a todos"
    assert " topic:migration lang:ES  Hola a todos"[request.body_start :] == "Hola a todos"


def test_several_topics_once_each_and_words_after_the_body_are_text() -> None:
    request = parse("topic:migration,history topic:migration all see lang:es", resolve)
    assert request.audience.topics == ("migration", "history")
    assert request.audience.language is None
    assert request.body == "see lang:es"


def test_topic_names_may_use_underscores_for_spaces() -> None:
    assert parse("topic:women's_rights x", resolve).audience.topics == ("womens-rights",)


def test_only_audience_words_leave_an_empty_body() -> None:
    request = parse(" lang:en", resolve)
    assert request.audience == Audience((), "en")
    assert request.body == ""


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("topic:nope hi", "admin.audience_unknown_topic"),
        ("topic: hi", "admin.audience_empty_topic"),
        ("lang:fr hi", "admin.audience_unknown_language"),
    ],
)
def test_wrong_audience_words_are_explained(text: str, key: str) -> None:
    with pytest.raises(AudienceError) as raised:
        parse(text, resolve)
    assert raised.value.key == key


@given(
    st.lists(st.sampled_from(["migration", "history", "womens-rights"]), unique=True),
    st.sampled_from([None, "en", "es"]),
)
def test_the_stored_key_gives_the_audience_back(topics: list[str], language: str | None) -> None:
    audience = Audience(tuple(topics), language)
    assert Audience.from_key(audience.key()) == audience


def test_described_in_both_languages_with_names_escaped() -> None:
    names = {"migration": "Migration <&>"}
    assert describe(Audience(), "en", names) == "all active chats"
    assert describe(Audience((), "es"), "es", names) == "chats en español"
    text = describe(Audience(("migration",), "en"), "en", names)
    assert "Migration &lt;&amp;&gt;" in text
    assert "English" in text


def test_body_keeps_formatting_after_the_command() -> None:
    text = "/broadcast lang:es ¡Hola <b>a todos!"
    text_html = "/broadcast lang:es <b>¡Hola</b> &lt;b&gt;a todos!"
    start = len("/broadcast lang:es ")
    assert body_html(text, text_html, start) == "<b>¡Hola</b> &lt;b&gt;a todos!"


def test_body_is_plain_when_a_format_spans_the_command() -> None:
    text = "/broadcast Hi <there>"
    text_html = "<b>/broadcast Hi &lt;there&gt;</b>"
    assert body_html(text, text_html, len("/broadcast ")) == "Hi &lt;there&gt;"
