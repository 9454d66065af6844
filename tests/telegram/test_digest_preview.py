"""What a digest will look like and when it comes, before the first one arrives.

A new target's cursor starts at the newest article, so a new subscriber has
nothing pending: /digest shows a sample instead (labelled, the cursor left
where it is), and /mysubs and /settings say when the real one comes, in the
chat's zone and language.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.store import articles, chats
from tests.harness import Harness

# Tuesday 2 June 2026, 21:00 in Mexico City (UTC-6 all year): a chat there at
# 07:30 gets its next digest on Wednesday 3 June, 13:30 UTC.
NOW = int(datetime(2026, 6, 3, 3, 0, tzinfo=UTC).timestamp())
MIGRATION_EN = "Death of Migrants in Ciudad Juárez"
MIGRATION_ES = "La muerte de Migrantes en Chihuahua"


async def test_digest_without_subscriptions_says_how_to_follow(harness: Harness) -> None:
    ann = harness.emulator.add_user("Ann")
    reply = await harness.say(ann.id, ann.id, "/digest")
    assert reply.text is not None
    assert "/subscribe" in reply.text
    assert "/topics" in reply.text
    assert "Nothing new" not in reply.text


async def test_nothing_new_shows_a_labelled_sample_and_leaves_the_cursor(
    harness: Harness,
) -> None:
    emulator, services = harness.emulator, harness.services
    ann = emulator.add_user("Ann")
    await harness.say(ann.id, ann.id, "/subscribe migration")
    before = await chats.get_target(services.db, ann.id)
    assert before is not None

    sample = await harness.say(ann.id, ann.id, "/digest")
    assert sample.text is not None
    assert "sample" in sample.text.lower()
    assert MIGRATION_EN in sample.text
    assert MIGRATION_ES in sample.text
    assert "3." not in sample.text  # the sample topic has two articles, and only those
    after = await chats.get_target(services.db, ann.id)
    assert after is not None
    assert after.cursor_article_id == before.cursor_article_id

    # Something new is still sent as the digest it is, and counts as delivered.
    fresh = Entry(
        title="Caravan reaches the border",
        summary="A report on migration.",
        url="https://ex.org/caravan",
    )
    report = await ingest(
        services.db,
        [fresh],
        source="https://ex.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )
    assert report.new == 1
    emulator.send_user_message(ann.id, ann.id, "/digest")
    digest = await emulator.wait_for_bot_message(
        ann.id, lambda m: "Caravan reaches the border" in (m.text or "")
    )
    assert digest.text is not None
    assert "sample" not in digest.text.lower()
    assert MIGRATION_EN not in digest.text  # only what is new
    moved = await chats.get_target(services.db, ann.id)
    assert moved is not None
    assert moved.cursor_article_id == await articles.newest_id(services.db)

    # Nothing new again: a sample again, now led by the newest.
    again = await harness.say(ann.id, ann.id, "/digest")
    assert again.text is not None
    assert "sample" in again.text.lower()
    assert "1. Caravan reaches the border" in again.text


async def test_the_sample_speaks_the_chats_language_and_keeps_its_article_language(
    harness: Harness,
) -> None:
    ann = harness.emulator.add_user("Ann")
    await harness.say(ann.id, ann.id, "/settings language es")
    await harness.say(ann.id, ann.id, "/settings articles es")
    await harness.say(ann.id, ann.id, "/subscribe migration")
    sample = await harness.say(ann.id, ann.id, "/digest")
    assert sample.text is not None
    assert "muestra" in sample.text.lower()
    assert MIGRATION_ES in sample.text
    # The English version of the same story is only named, under the Spanish one.
    assert sample.text.count(MIGRATION_EN) == 1
    assert f"🇬🇧 {MIGRATION_EN}" in sample.text


async def test_mysubs_says_when_the_next_digest_comes_in_local_time(harness: Harness) -> None:
    harness.services.clock = lambda: NOW
    ann = harness.emulator.add_user("Ann")
    await harness.say(ann.id, ann.id, "/subscribe migration")
    await harness.say(ann.id, ann.id, "/settings timezone America/Mexico_City")
    await harness.say(ann.id, ann.id, "/settings time 07:30")
    subs = await harness.say(ann.id, ann.id, "/mysubs")
    assert subs.text is not None
    assert "Wednesday, June 3, 07:30" in subs.text
    assert "America/Mexico_City" in subs.text

    await harness.say(ann.id, ann.id, "/settings language es")
    subs = await harness.say(ann.id, ann.id, "/mysubs")
    assert subs.text is not None
    assert "miércoles, 3 de junio, 7:30" in subs.text

    await harness.say(ann.id, ann.id, "/settings digest instant")
    subs = await harness.say(ann.id, ann.id, "/mysubs")
    assert subs.text is not None
    assert "en cuanto se publica" in subs.text
    assert "3 de junio" not in subs.text


async def test_settings_say_when_the_next_digest_comes_and_instant_and_off_say_so(
    harness: Harness,
) -> None:
    harness.services.clock = lambda: NOW
    ann = harness.emulator.add_user("Ann")
    menu = await harness.say(ann.id, ann.id, "/settings")
    assert menu.text is not None
    assert "Next digest: Wednesday, June 3, 08:00" in menu.text  # the default: daily, 08:00 UTC

    weekly = await harness.say(ann.id, ann.id, "/settings digest weekly")
    assert weekly.text is not None
    assert "Next digest: Monday, June 8, 08:00" in weekly.text  # the default day: Monday

    instant = await harness.say(ann.id, ann.id, "/settings digest instant")
    assert instant.text is not None
    assert "as it arrives" in instant.text
    assert "Next digest:" not in instant.text

    off = await harness.say(ann.id, ann.id, "/settings digest off")
    assert off.text is not None
    assert "Digests are off" in off.text
    assert "Next digest:" not in off.text
