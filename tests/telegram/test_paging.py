"""Paging where a list is cut: /latest, a topic's view and search results.

Each page replaces the one before in the same message, with ◂ Back and More ▸,
so a reader can walk the whole list both ways; buttons this bot never made, or
pages out of reach, are answered with a notice and change nothing.
"""

from __future__ import annotations

from bot.emulator import MessageRecord
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.services import Services
from bot.store import articles, translations
from tests.harness import Harness

BACK = "◂ Back"
MORE = "More ▸"


def _titles(message: MessageRecord) -> list[str]:
    """The articles shown: each block after the header begins with its title."""
    return [block.split("\n")[0] for block in (message.text or "").split("\n\n")[1:]]


def _labels(message: MessageRecord) -> list[str]:
    return [b["text"] for b in message.buttons]


async def _turn(harness: Harness, message: MessageRecord, label: str) -> MessageRecord:
    """Press `label` and wait for the message to change in place."""
    before = harness.emulator.message(message.chat_id, message.message_id)
    assert before is not None
    seen = (before.text, before.edit_date, tuple(_labels(before)))
    await harness.press(message, text=label)

    def changed() -> MessageRecord | None:
        now = harness.emulator.message(message.chat_id, message.message_id)
        if now is None or (now.text, now.edit_date, tuple(_labels(now))) == seen:
            return None
        return now

    return await harness.emulator.wait_for(changed)


async def _walk(harness: Harness, first: MessageRecord) -> list[list[str]]:
    """Every page's links, pressing More until there is none, then Back to the start."""
    pages = [_titles(first)]
    shown = first
    assert BACK not in _labels(first)
    while MORE in _labels(shown):
        shown = await _turn(harness, shown, MORE)
        assert BACK in _labels(shown)
        pages.append(_titles(shown))
    for expected in reversed(pages[:-1]):
        shown = await _turn(harness, shown, BACK)
        assert _titles(shown) == expected
    assert BACK not in _labels(shown)
    return pages


async def _publish(services: Services, titles: list[str]) -> None:
    entries = [
        Entry(title=title, summary=f"About {title}.", url=f"https://example.org/{n}")
        for n, title in enumerate(titles)
    ]
    await ingest(
        services.db,
        entries,
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )


async def test_latest_pages_through_every_article_and_back(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    first = await harness.say(user.id, user.id, "/latest")
    assert MORE in _labels(first)
    pages = await _walk(harness, first)
    seen = [title for page in pages for title in page]
    # Every story once: a story in both languages is one item.
    stories = await articles.count(harness.services.db) - await translations.count(
        harness.services.db
    )
    assert len(seen) == len(set(seen)) == stories
    assert all(0 < len(page) <= 5 for page in pages)


async def test_a_topics_pages_hold_as_many_articles_as_topics_says(harness: Harness) -> None:
    await _publish(harness.services, [f"Migrant caravan report {n}" for n in range(7)])
    user = harness.emulator.add_user("Ann")
    listing = await harness.say(user.id, user.id, "/topics")
    (label,) = [b for b in _labels(listing) if b.startswith("Migration (")]
    counted = int(label.removeprefix("Migration (").removesuffix(")"))
    assert counted > 5
    await harness.press(listing, text="Migration (")
    view = await harness.edited(listing, "Latest on Migration")
    assert "Subscribe to Migration" in " ".join(_labels(view))
    pages = await _walk(harness, view)
    seen = [title for page in pages for title in page]
    assert len(seen) == len(set(seen)) == counted


async def test_topic_command_offers_more(harness: Harness) -> None:
    await _publish(harness.services, [f"Migrant caravan report {n}" for n in range(7)])
    user = harness.emulator.add_user("Ann")
    view = await harness.say(user.id, user.id, "/topic migration")
    assert MORE in _labels(view)
    second = await _turn(harness, view, MORE)
    assert "Latest on Migration" in (second.text or "")
    assert BACK in _labels(second)


async def test_search_page_two_has_a_way_back(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    first = await harness.say(user.id, user.id, "/search mexico")
    assert first.text is not None
    assert "1. " in first.text
    second = await _turn(harness, first, MORE)
    assert second.text is not None
    assert "6. " in second.text
    assert "page 2" in second.text
    assert BACK in _labels(second)
    again = await _turn(harness, second, BACK)
    assert again.text is not None
    assert "1. " in again.text
    assert "6. " not in again.text
    assert _titles(again) == _titles(first)


async def test_forged_and_out_of_reach_pages_get_a_notice(harness: Harness) -> None:
    user = harness.emulator.add_user("Ann")
    shown = await harness.say(user.id, user.id, "/latest")
    before = [(m.message_id, m.text, m.edit_date) for m in harness.emulator.messages(user.id)]
    for data in (
        "lp:12",  # in reach, past the end
        "tp:migration:3",
        "s:30:mexico",
        "lp:40",  # past what paging ever reaches
        "lp:999",
        "lp:-1",
        "lp:x",
        "tp:migration:999",
        "tp:no-such:1",
        "s:40:mexico",
    ):
        query_id = harness.emulator.press_button(
            user.id, shown.message_id, user_id=user.id, forged_data=data
        )
        answer = await harness.emulator.wait_for_callback_answer(query_id)
        assert answer.text is not None, data
        assert "expired" in answer.text, data
    after = [(m.message_id, m.text, m.edit_date) for m in harness.emulator.messages(user.id)]
    assert after == before
