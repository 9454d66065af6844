"""`topic:` picks a topic to follow, and /mysubs fits one message however much is followed."""

from __future__ import annotations

from bot.formatting import MESSAGE_LIMIT, utf16_len
from bot.reader.following import MAX_SUBSCRIPTIONS
from bot.store import chats, subscriptions
from tests.harness import Harness


async def _follows(harness: Harness, chat_id: int) -> list[tuple[str, str]]:
    target = await chats.get_target(harness.services.db, chat_id)
    assert target is not None
    found = await subscriptions.list_for_target(harness.services.db, target.id)
    return [(s.kind, s.value) for s in found]


async def test_topic_prefix_follows_the_topic(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/subscribe topic:migration")
    assert "Subscribed to Migration" in (reply.text or "")
    assert await _follows(harness, user.id) == [("topic", "migration")]
    # Its name in either language, quoted or not, is the same topic.
    again = await harness.say(user.id, user.id, "/subscribe topic:Migración")
    assert again.text == "You already follow Migration."
    rights = await harness.say(user.id, user.id, '/subscribe topic:"Women\'s rights"')
    assert "Subscribed to Women's rights" in (rights.text or "")
    assert await _follows(harness, user.id) == [("topic", "migration"), ("topic", "womens-rights")]
    gone = await harness.say(user.id, user.id, "/unsubscribe topic:migration")
    assert gone.text == "🔕 Unsubscribed from Migration."
    assert await _follows(harness, user.id) == [("topic", "womens-rights")]
    # A topic with words is still a search: what it finds is narrower than the topic.
    await harness.say(user.id, user.id, "/subscribe juarez topic:migration")
    assert ("query", "juarez topic:migration") in await _follows(harness, user.id)


async def test_an_unknown_topic_is_named_not_followed_as_keywords(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    for text in ("topic:nowhere", 'topic:"no such thing"', "topic:"):
        reply = await harness.say(user.id, user.id, f"/subscribe {text}")
        assert "Subscribed" not in (reply.text or ""), text
    reply = await harness.say(user.id, user.id, "/subscribe topic:nowhere")
    assert reply.text == "I don't know the topic “nowhere”. See /topics."
    assert await _follows(harness, user.id) == []


async def test_mysubs_with_the_most_and_longest_keywords_fits_one_message(
    harness: Harness,
) -> None:
    user = harness.emulator.add_user("Ann")
    await harness.say(user.id, user.id, "/start")
    target = await chats.get_target(harness.services.db, user.id)
    assert target is not None
    for n in range(MAX_SUBSCRIPTIONS):
        keywords = " ".join(f"{word}{n:02d}" for word in ("ayotzinapa", "desaparecidos") * 6)
        await subscriptions.add(harness.services.db, target.id, "query", keywords, 0)

    listing = await harness.say(user.id, user.id, "/mysubs")
    assert listing.text is not None
    assert utf16_len(listing.text) <= MESSAGE_LIMIT
    shown = (listing.text or "").count("• Keywords:")
    assert 0 < shown < MAX_SUBSCRIPTIONS
    assert f"… and {MAX_SUBSCRIPTIONS - shown} more" in (listing.text or "")
    assert "Digest:" in (listing.text or "")  # what follows the list is kept
    assert len(listing.buttons) == MAX_SUBSCRIPTIONS  # each still has its ✕

    await harness.say(user.id, user.id, "/settings language es")
    spanish = await harness.say(user.id, user.id, "/mysubs")
    assert f"… y {MAX_SUBSCRIPTIONS - shown} más" in (spanish.text or "")
