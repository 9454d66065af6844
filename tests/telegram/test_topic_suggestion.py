"""A search that names a topic (its name or one of its keywords) points to the topic,
even when no article contains the word itself."""

from __future__ import annotations

from tests.harness import Harness


async def test_a_topic_keyword_no_article_contains_suggests_the_topic(harness: Harness) -> None:
    user = harness.emulator.add_user("Ana", language_code="es")
    reply = await harness.say(user.id, user.id, "mujeres")  # a keyword of "womens-rights"
    assert reply.text is not None
    assert "Derechos de las mujeres" in reply.text
    labels = [b["text"] for b in reply.buttons]
    assert labels[0] == "🏷 Derechos de las mujeres (3)", labels
    await harness.press(reply, text="Derechos de las mujeres")
    topic = await harness.edited(reply, "Lo más reciente sobre")
    assert topic.text is not None
    assert "Criminalization of Abortion Declared Unconstitutional" in topic.text


async def test_results_that_name_a_topic_offer_it_too(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/search femicides")  # found, and a keyword
    assert reply.text is not None
    assert "Femicides in Mexico" in reply.text
    assert any(b["text"].startswith("🏷 Women's rights") for b in reply.buttons), reply.buttons


async def test_an_ordinary_search_offers_no_topic(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    reply = await harness.say(user.id, user.id, "/search juarez")
    assert not any(b["text"].startswith("🏷") for b in reply.buttons), reply.buttons
