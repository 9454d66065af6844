"""A digest's "show more" button: each page comes once, however often it is pressed."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from tests.harness import Harness

TITLES = ("Caravan reaches the border", "Shelters fill up in Tijuana")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"digest_max_items": 1})


async def test_a_more_button_pressed_twice_brings_its_page_once(harness: Harness) -> None:
    emulator, services = harness.emulator, harness.services
    ann = emulator.add_user("Ann")
    await harness.say(ann.id, ann.id, "/subscribe migration")
    entries = [
        Entry(title=title, summary="A report on migration.", url=f"https://ex.org/{number}")
        for number, title in enumerate(TITLES)
    ]
    report = await ingest(
        services.db,
        entries,
        source="https://ex.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )
    assert report.new == 2
    emulator.send_user_message(ann.id, ann.id, "/digest")
    first = await emulator.wait_for_bot_message(ann.id, lambda m: bool(m.callback_data))
    rest = TITLES[1] if TITLES[0] in (first.text or "") else TITLES[0]

    # A double tap: both presses leave before the bot has answered either.
    presses = [emulator.press_button(ann.id, first.message_id, index=0) for _ in range(2)]
    for query_id in presses:
        await emulator.wait_for_callback_answer(query_id)
    emulator.send_user_message(ann.id, ann.id, "/help")  # handled after both presses
    await emulator.wait_for_bot_message(ann.id, lambda m: "/latest" in (m.text or ""))

    pages = [m for m in emulator.bot_messages(ann.id) if rest in (m.text or "")]
    assert len(pages) == 1
    pressed = emulator.message(ann.id, first.message_id)
    assert pressed is not None
    assert pressed.buttons == []  # the next page brings its own button, if any
    # The second press found the button gone, as Telegram tells it: "not modified".
    refused = emulator.take_protocol_errors()
    assert refused
    assert {(e.method, "not modified" in e.description) for e in refused} == {
        ("editMessageReplyMarkup", True)
    }
