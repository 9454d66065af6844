"""Searches a hostile user can type cost a bounded time, on every way in.

Prefixes need three letters and a search holds two at most (/search, plain
text, inline mode, /subscribe); a search past its time budget is stopped and
called too broad; inline paging tokens are digits within reach, or the first
page.
"""

from __future__ import annotations

import time

from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.store import subscriptions
from bot.store.sqlite import SQLiteDatabase
from tests.harness import Harness

SHORT_PREFIX = "A prefix needs at least 3 letters before the *"
TOO_MANY = "Use at most 2 prefixes (word*) in one search."
TOO_BROAD = "That search is too broad — add a word."


async def _subscriptions(harness: Harness, chat_id: int) -> list[str]:
    target = await harness.services.db.fetchval(
        "SELECT id FROM targets WHERE chat_id = ? AND thread_id = 0", (chat_id,)
    )
    found = await subscriptions.list_for_target(harness.services.db, target)
    return [s.value for s in found]


async def test_short_and_too_many_prefixes_are_refused_everywhere(harness: Harness) -> None:
    ann = harness.emulator.add_user("Ann")
    ana = harness.emulator.add_user("Ana", language_code="es")

    reply = await harness.say(ann.id, ann.id, "/search a* e* i* o* u* s* t* c* d* m* p* r*")
    assert reply.text is not None
    assert reply.text.startswith("A prefix needs at least 3 letters before the *")
    reply = await harness.say(ann.id, ann.id, "juarez mi*")
    assert reply.text is not None
    assert reply.text.startswith(SHORT_PREFIX)
    reply = await harness.say(ann.id, ann.id, "migra* revolu* capit*")
    assert reply.text == TOO_MANY
    reply = await harness.say(ana.id, ana.id, "/search ab*")
    assert reply.text is not None
    assert reply.text.startswith("Un prefijo necesita al menos 3 letras antes del *")

    query_id = harness.emulator.inline_query(ann.id, "a* e* i* o*")
    answer = await harness.emulator.wait_for_inline_answer(query_id)
    assert answer.results == []
    assert answer.button is not None
    assert answer.button["text"] == SHORT_PREFIX
    query_id = harness.emulator.inline_query(ana.id, "migra* revolu* capit*")
    answer = await harness.emulator.wait_for_inline_answer(query_id)
    assert answer.button is not None
    assert answer.button["text"] == "Como máximo 2 prefijos (palabra*) por búsqueda"

    reply = await harness.say(ann.id, ann.id, "/subscribe juarez ab*")
    assert reply.text is not None
    assert reply.text.startswith(SHORT_PREFIX)
    reply = await harness.say(ann.id, ann.id, "/subscribe migra* revolu* capit*")
    assert reply.text == TOO_MANY
    assert await _subscriptions(harness, ann.id) == []
    reply = await harness.say(ann.id, ann.id, "/subscribe migra* revolu*")
    assert reply.text is not None
    assert "Subscribed" in reply.text
    assert await _subscriptions(harness, ann.id) == ["migra* revolu*"]


async def test_a_search_past_its_budget_is_too_broad_and_the_next_one_runs(
    harness: Harness,
) -> None:
    """A zero budget with the handler looking after every SQLite step stops any
    search at its first step: no clock is involved."""
    ann = harness.emulator.add_user("Ann")
    ana = harness.emulator.add_user("Ana", language_code="es")
    assert isinstance(harness.services.db, SQLiteDatabase)
    harness.services.db.progress_steps = 1
    harness.services.settings.search_time_budget_ms = 0

    reply = await harness.say(ann.id, ann.id, "/search juarez")
    assert reply.text == TOO_BROAD
    reply = await harness.say(ann.id, ann.id, "juarez")
    assert reply.text == TOO_BROAD
    reply = await harness.say(ana.id, ana.id, "juarez")
    assert reply.text == "Esa búsqueda es demasiado amplia: añade una palabra."
    query_id = harness.emulator.inline_query(ann.id, "juarez")
    answer = await harness.emulator.wait_for_inline_answer(query_id)
    assert answer.results == []
    assert answer.button is not None
    assert answer.button["text"] == "That search is too broad — add a word"

    # The reader is free at once: other reads, then searches, go on.
    reply = await harness.say(ann.id, ann.id, "/latest")
    assert reply.text is not None
    assert reply.text.startswith("🆕 Latest articles")
    harness.services.settings.search_time_budget_ms = 60_000
    reply = await harness.say(ann.id, ann.id, "/search juarez")
    assert reply.text is not None
    assert "Juárez" in reply.text


async def test_inline_paging_offsets_are_ascii_digits_within_reach(harness: Harness) -> None:
    emulator = harness.emulator
    ann = emulator.add_user("Ann")
    first = await emulator.wait_for_inline_answer(emulator.inline_query(ann.id, ""))
    assert first.results

    # '²'.isdigit() is true and int('²') raises: the first page, not an error.
    odd = await emulator.wait_for_inline_answer(emulator.inline_query(ann.id, "", offset="²"))
    assert [r["id"] for r in odd.results] == [r["id"] for r in first.results]
    odd = await emulator.wait_for_inline_answer(emulator.inline_query(ann.id, "juarez", offset="٣"))
    assert odd.results
    # The last page says so by leaving next_offset out ("" would reach Telegram as "[]").
    last = await emulator.wait_for_inline_answer(emulator.inline_query(ann.id, "juarez"))
    assert len(last.results) == 1  # the sample's Juárez story, in two languages
    assert last.next_offset is None
    huge = await emulator.wait_for_inline_answer(
        emulator.inline_query(ann.id, "", offset="99999999999")
    )
    assert huge.results == []
    assert huge.next_offset is None


async def test_paging_stops_at_two_hundred_results(harness: Harness) -> None:
    """Beyond the first 200 results no page is offered or served, so no request
    makes SQLite step over a deep OFFSET."""
    services = harness.services
    now = int(time.time())
    entries = [
        Entry(
            title=f"Paging test number {n}",
            summary=f"Article {n} about the pager.",
            url=f"https://example.org/pager/{n}",
            published_at=now - n,
            language="en",
        )
        for n in range(230)
    ]
    await ingest(services.db, entries, source="test", catalogue=services.catalogue, now=now)
    emulator = harness.emulator
    ann = emulator.add_user("Ann")

    page = await emulator.wait_for_inline_answer(emulator.inline_query(ann.id, "", offset="19"))
    assert len(page.results) == 10
    assert page.next_offset is None
    beyond = await emulator.wait_for_inline_answer(emulator.inline_query(ann.id, "", offset="20"))
    assert beyond.results == []
    page = await emulator.wait_for_inline_answer(
        emulator.inline_query(ann.id, "pager", offset="19")
    )
    assert len(page.results) == 10
    assert page.next_offset is None
    beyond = await emulator.wait_for_inline_answer(
        emulator.inline_query(ann.id, "pager", offset="20")
    )
    assert beyond.results == []
