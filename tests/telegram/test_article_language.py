""" "Articles in" picks what a digest holds, and, for a story written in both
languages, which version a reader sees; nothing else.

A search is a question the reader asked in words: it answers in every language
unless the words say `lang:`. /latest, a topic's view and the counts /topics
shows all count the same stories, so the numbers always match what a tap shows.
"""

from __future__ import annotations

from bot.emulator import MessageRecord
from bot.store import chats
from tests.harness import Harness


def _titles(message: MessageRecord) -> list[str]:
    """The articles shown: each block after the header begins with its title."""
    return [block.split("\n")[0] for block in (message.text or "").split("\n\n")[1:]]


async def _spanish_articles(harness: Harness, user_id: int) -> None:
    await harness.say(user_id, user_id, "/settings articles es")
    target = await chats.get_target(harness.services.db, user_id, 0)
    assert target is not None
    assert target.article_language == "es"


async def test_search_is_not_narrowed_by_the_digest_language(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    await _spanish_articles(harness, user.id)
    reply = await harness.say(user.id, user.id, "mexico")
    assert reply.text is not None
    assert "lang:" not in reply.text
    assert reply.text.startswith("🔎 Results for “mexico”")
    assert "\n1. " in reply.text


async def test_typed_lang_still_narrows(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/search migrantes lang:es")
    assert reply.text is not None
    assert "La muerte de Migrantes en Chihuahua" in reply.text


async def test_latest_and_topics_count_the_same_articles_whatever_is_chosen(
    harness: Harness,
) -> None:
    user = harness.emulator.add_user("Ann")
    before_latest = await harness.say(user.id, user.id, "/latest")
    before_topics = await harness.say(user.id, user.id, "/topics")
    await _spanish_articles(harness, user.id)
    after_latest = await harness.say(user.id, user.id, "/latest")
    # The same stories in the same places; the sample's one story written in both
    # languages now shows its Spanish version.
    changed = [
        (before, after)
        for before, after in zip(_titles(before_latest), _titles(after_latest), strict=True)
        if before != after
    ]
    assert [(b.split(":")[0], a.split(":")[0]) for b, a in changed] == [
        ("Death of Migrants in Ciudad Juárez, Mexico", "La muerte de Migrantes en Chihuahua")
    ]
    after_topics = await harness.say(user.id, user.id, "/topics")
    assert [b["text"] for b in after_topics.buttons] == [b["text"] for b in before_topics.buttons]
    (label,) = [b["text"] for b in after_topics.buttons if b["text"].startswith("Migration (")]
    await harness.press(after_topics, text="Migration (")
    view = await harness.edited(after_topics, "Latest on Migration")
    assert len(_titles(view)) == int(label.removeprefix("Migration (").removesuffix(")"))
