"""A story written in both languages reaches a reader once, in the reader's
language, with a link to the other version: searches, /latest, a topic's view,
digests and an instant channel. End to end: the real bot, the emulator, the
store's pairs (made here with `translations.link`, whatever ingest found)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator

import pytest

from bot.cli import main as cli_main
from bot.config import Settings
from bot.digest.dispatch import dispatch_instant
from bot.emulator import Emulator, MessageRecord
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest
from bot.runtime import open_content
from bot.services import Services
from bot.store import translations
from tests.harness import QUICK_LIMITS, Harness, bot_harness

ADMIN_ID = 4242
EN_URL = "https://example.org/en/zacatecas-floods"
ES_URL = "https://example.org/es/inundaciones-zacatecas"
EN = Entry(
    title="Migrants flee floods in Zacatecas as aid runs short",
    summary="Migrants and their families left the shelters of Zacatecas after the floods.",
    url=EN_URL,
    language="en",
    categories=("Refugees",),
)
ES = Entry(
    title=(
        "Migrantes huyen de las inundaciones en Zacatecas mientras escasea la ayuda"
        " y crecen los refugios"
    ),
    summary="Migrantes y sus familias dejaron los albergues de Zacatecas tras las inundaciones.",
    url=ES_URL,
    language="es",
    categories=("Refugees",),
)


@pytest.fixture
async def admin_harness(emulator: Emulator, settings: Settings) -> AsyncIterator[Harness]:
    configured = settings.model_copy(update={"admin_ids": [ADMIN_ID]})
    emulator.add_user("Editor", user_id=ADMIN_ID)
    async with bot_harness(emulator, configured, limits=QUICK_LIMITS) as harness:
        yield harness


async def _store(services: Services, *entries: Entry) -> list[int]:
    report = await ingest(
        services.db,
        list(entries),
        source="https://example.org/feed",
        catalogue=services.catalogue,
        now=services.now(),
    )
    return list(report.new_ids)


async def _pair(services: Services) -> None:
    rows = await services.db.fetchall(
        "SELECT id FROM articles WHERE url IN (?, ?) ORDER BY language", (EN_URL, ES_URL)
    )
    en_id, es_id = (row[0] for row in rows)
    outcome = await translations.link(
        services.db,
        en_id,
        es_id,
        how="manual",
        now=services.now(),
        replace=("explicit", "text", "manual"),
    )
    assert outcome in ("paired", "already")


def _links(message: MessageRecord) -> list[str]:
    return [e.url for e in message.entities if e.type == "text_link" and e.url]


async def test_an_english_readers_search_shows_the_story_once_linking_the_spanish(
    harness: Harness,
) -> None:
    await _store(harness.services, EN, ES)
    await _pair(harness.services)
    user = harness.emulator.add_user("Ann", language_code="en")
    results = await harness.say(user.id, user.id, "/search zacatecas")
    text = results.text or ""
    assert _links(results) == [EN_URL, ES_URL]
    assert text.count("Migrants flee") == 1
    assert "🇪🇸 Migrantes huyen de las inundaciones" in text
    assert "refugios" not in text  # the Spanish title is a clipped link, not an item


async def test_a_spanish_readers_search_shows_the_spanish_version(harness: Harness) -> None:
    await _store(harness.services, EN, ES)
    await _pair(harness.services)
    user = harness.emulator.add_user("Ana", language_code="es")
    await harness.say(user.id, user.id, "/settings language es")
    results = await harness.say(user.id, user.id, "/search zacatecas")
    assert _links(results) == [ES_URL, EN_URL]
    assert "🇬🇧 Migrants flee floods" in (results.text or "")


async def test_articles_in_decides_over_the_interface_language(harness: Harness) -> None:
    await _store(harness.services, EN, ES)
    await _pair(harness.services)
    user = harness.emulator.add_user("Ann", language_code="en")
    await harness.say(user.id, user.id, "/settings articles es")
    results = await harness.say(user.id, user.id, "/search zacatecas")
    assert _links(results) == [ES_URL, EN_URL]
    assert "🇬🇧 Migrants flee floods" in (results.text or "")


async def test_latest_and_a_topic_page_list_a_pair_once(harness: Harness) -> None:
    await _store(harness.services, EN, ES)
    await _pair(harness.services)
    user = harness.emulator.add_user("Ann", language_code="en")
    latest = await harness.say(user.id, user.id, "/latest")
    assert _links(latest)[:2] == [EN_URL, ES_URL]
    assert _links(latest).count(ES_URL) == 1
    assert "🇪🇸 Migrantes huyen" in (latest.text or "")
    assert "refugios" not in (latest.text or "")
    topic = await harness.say(user.id, user.id, "/topic migration")
    assert _links(topic)[:2] == [EN_URL, ES_URL]
    assert _links(topic).count(ES_URL) == 1
    assert "refugios" not in (topic.text or "")


async def test_a_subscriber_gets_the_story_once_in_a_digest_holding_both(
    harness: Harness,
) -> None:
    user = harness.emulator.add_user("Ann", language_code="en")
    await harness.say(user.id, user.id, "/subscribe migration")
    await _store(harness.services, EN, ES)
    await _pair(harness.services)
    digest = await harness.say(user.id, user.id, "/digest")
    text = digest.text or ""
    assert text.count("Migrants flee") == 1
    assert _links(digest).count(EN_URL) == 1
    assert ES_URL in _links(digest)
    assert "refugios" not in text


async def _instant_channel(harness: Harness, name: str, topic: str) -> int:
    emulator = harness.emulator
    admin = emulator.user(ADMIN_ID)
    channel = emulator.add_channel(
        name, username=name.lower(), admins=[admin.id], bot_status="member"
    )
    await harness.say(admin.id, admin.id, "/start")
    emulator.bot_membership_changed(channel.id, admin.id, "administrator")
    await emulator.wait_for_bot_message(admin.id, lambda m: name in (m.text or ""))
    await harness.say(admin.id, admin.id, f"/channel_subscribe @{name.lower()} {topic}")
    await harness.say(admin.id, admin.id, f"/channel_settings @{name.lower()} digest instant")
    return channel.id


async def _posts(harness: Harness, channel: int) -> list[MessageRecord]:
    services = harness.services
    await dispatch_instant(services, services.now())
    sender = harness.app.bot_data.sender
    assert sender is not None
    await sender.wait_empty()
    return [m for m in harness.emulator.bot_messages(channel) if "Migrant" in (m.text or "")]


async def test_an_instant_channel_posts_a_pair_arriving_together_once(
    admin_harness: Harness,
) -> None:
    harness = admin_harness
    channel = await _instant_channel(harness, "Magazine", "migration")
    await _store(harness.services, EN, ES)
    await _pair(harness.services)
    posts = await _posts(harness, channel)
    assert len(posts) == 1
    assert _links(posts[0])[0] == EN_URL
    assert ES_URL in _links(posts[0])


async def test_an_instant_channel_does_not_post_the_second_version_of_a_posted_story(
    admin_harness: Harness,
) -> None:
    harness = admin_harness
    channel = await _instant_channel(harness, "Magazine", "migration")
    await _store(harness.services, EN)
    assert len(await _posts(harness, channel)) == 1
    await _store(harness.services, ES)
    await _pair(harness.services)
    posts = await _posts(harness, channel)
    assert len(posts) == 1
    assert _links(posts[0])[0] == EN_URL


def test_cli_search_json_is_one_result_carrying_its_translation(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    async def stored_and_paired() -> None:
        content = await open_content(settings)
        try:
            services = Services(settings, content.db, content.catalogue, run_jobs=False)
            await _store(services, EN, ES)
            await _pair(services)
        finally:
            await content.db.close()

    asyncio.run(stored_and_paired())
    capsys.readouterr()
    assert cli_main(["search", "zacatecas", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["url"] for r in results] == [EN_URL]
    (other,) = results[0]["translations"]
    assert other["language"] == "es"
    assert other["url"] == ES_URL
    assert other["title"].startswith("Migrantes huyen")
    assert isinstance(other["id"], int)
    assert cli_main(["search", "zacatecas", "--prefer", "es"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1. Migrantes huyen")
    assert any(line.strip().startswith("🇬🇧 Migrants flee floods") for line in lines)


# A subscription that matches either version of a story gets it once, in the
# reader's language: "albergues" is only in the Spanish version's words,
# "shelters" only in the English one's, and the Spanish summary below alone
# speaks of students (the "students" topic).
ES_WITH_STUDENTS = dataclasses.replace(
    ES, summary=ES.summary + " Estudiantes de la universidad llevaron comida a los albergues."
)


async def _reader(harness: Harness, ui: str, *settings: str) -> int:
    user = harness.emulator.add_user(f"Reader {ui}", language_code=ui)
    if ui != "en":
        await harness.say(user.id, user.id, f"/settings language {ui}")
    for setting in settings:
        await harness.say(user.id, user.id, f"/settings {setting}")
    return user.id


@pytest.mark.parametrize(
    ("ui", "chosen", "follows", "shown", "other"),
    [
        ("en", ("articles en",), "albergues", EN_URL, ES_URL),
        ("en", ("articles en",), "students", EN_URL, ES_URL),
        ("es", ("articles es",), "shelters", ES_URL, EN_URL),
        ("en", (), "albergues", EN_URL, ES_URL),
        ("es", (), "shelters", ES_URL, EN_URL),
    ],
)
async def test_a_digest_holds_a_story_only_one_version_of_which_matches(
    harness: Harness,
    ui: str,
    chosen: tuple[str, ...],
    follows: str,
    shown: str,
    other: str,
) -> None:
    chat = await _reader(harness, ui, *chosen)
    await harness.say(chat, chat, f"/subscribe {follows}")
    await _store(harness.services, EN, ES_WITH_STUDENTS)
    await _pair(harness.services)
    digest = await harness.say(chat, chat, "/digest")
    links = _links(digest)
    assert links.count(shown) == 1
    assert links.count(other) == 1
    assert links.index(shown) < links.index(other)  # the item, then its other version


async def _instant_digests(harness: Harness, chat: int) -> list[MessageRecord]:
    """What an instant run queues for `chat` that names the story."""
    services = harness.services
    before = len(harness.emulator.bot_messages(chat))
    await dispatch_instant(services, services.now())
    sender = harness.app.bot_data.sender
    assert sender is not None
    await sender.wait_empty()
    return [
        m
        for m in harness.emulator.bot_messages(chat)[before:]
        if EN_URL in _links(m) or ES_URL in _links(m)
    ]


@pytest.mark.parametrize(
    ("ui", "chosen", "shown", "other"),
    [
        ("en", (), EN_URL, ES_URL),
        ("es", (), ES_URL, EN_URL),
        ("en", ("articles es",), ES_URL, EN_URL),
    ],
)
async def test_the_later_version_brings_a_story_the_earlier_one_did_not(
    harness: Harness, ui: str, chosen: tuple[str, ...], shown: str, other: str
) -> None:
    chat = await _reader(harness, ui, "digest instant", *chosen)
    await harness.say(chat, chat, "/subscribe albergues")
    await _store(harness.services, EN)
    assert await _instant_digests(harness, chat) == []
    await _store(harness.services, ES)
    await _pair(harness.services)
    (digest,) = await _instant_digests(harness, chat)
    links = _links(digest)
    assert links.count(shown) == 1
    assert links.count(other) == 1
    assert await _instant_digests(harness, chat) == []


async def test_the_later_version_of_a_story_already_sent_is_not_sent_again(
    harness: Harness,
) -> None:
    chat = await _reader(harness, "es", "digest instant")
    await harness.say(chat, chat, "/subscribe zacatecas")
    await _store(harness.services, EN)
    (first,) = await _instant_digests(harness, chat)
    assert _links(first)[0] == EN_URL
    await _store(harness.services, ES)
    await _pair(harness.services)
    assert await _instant_digests(harness, chat) == []


async def test_an_instant_channel_posts_a_story_its_keywords_find_only_in_the_later_version(
    admin_harness: Harness,
) -> None:
    harness = admin_harness
    channel = await _instant_channel(harness, "Magazine", "albergues")
    await _store(harness.services, EN)
    assert await _posts(harness, channel) == []
    await _store(harness.services, ES)
    await _pair(harness.services)
    posts = await _posts(harness, channel)
    assert len(posts) == 1
    assert _links(posts[0])[0] == EN_URL
    assert ES_URL in _links(posts[0])


async def test_the_samples_juarez_story_is_one_result_paired_by_its_text(
    harness: Harness,
) -> None:
    """The bundled sample, as a new install loads it: no source links its two
    versions, the matcher pairs them, and `/search juarez` finds the story once
    in each reader's language, naming the other version under it."""
    english = harness.emulator.add_user("Ann", language_code="en")
    found = (await harness.say(english.id, english.id, "/search juarez")).text or ""
    assert found.count("Death of Migrants in Ciudad Juárez") == 1
    assert "🇪🇸 La muerte de Migrantes en Chihuahua" in found
    assert found.count("Migrantes") == 1  # the Spanish version is a line, not a result

    spanish = harness.emulator.add_user("Ana", language_code="es")
    await harness.say(spanish.id, spanish.id, "/settings language es")
    found = (await harness.say(spanish.id, spanish.id, "/search juarez")).text or ""
    assert found.count("La muerte de Migrantes en Chihuahua") == 1
    assert "🇬🇧 Death of Migrants in Ciudad Juárez" in found
