"""/pair and /unpair through the real bot and the emulator: every answer, the
audit log, and an admin's decision holding against the sources' links."""

from __future__ import annotations

from typing import get_args

import pytest

from bot.admin import pairing
from bot.i18n import t
from bot.ingest.listing import parse_listing
from bot.ingest.pairing import pair_arrivals
from bot.ingest.pipeline import ingest
from bot.languages import LANGUAGES
from bot.services import Services
from bot.store import admin, articles, translations
from bot.store.translations import Outcome
from tests.admin.conftest import ADMIN, READER
from tests.harness import Harness

LISTING = """\
Harbour strike enters its third week
Language: en
URL: https://pub.example/en/harbour-strike
Translation: https://pub.example/es/huelga-portuaria

Dockworkers in Veracruz keep the cranes still.

Huelga portuaria: tercera semana
Language: es
URL: https://pub.example/es/huelga-portuaria

Los estibadores de Veracruz mantienen las grúas quietas.

Festival de cine en Guadalajara
Language: es
URL: https://pub.example/es/festival-cine

Cortometrajes de jóvenes directores.

A recipe for tamales
Language: en
URL: https://pub.example/food/tamales

Corn dough, steamed in husks.
"""


async def _load(services: Services, text: str = LISTING) -> tuple[int, ...]:
    report = await ingest(
        services.db,
        parse_listing(text),
        source="listing.txt",
        catalogue=services.catalogue,
        now=services.now(),
    )
    return report.new_ids


async def _partner(services: Services, article_id: int) -> tuple[int, str] | None:
    found = await translations.partners(services.db, [article_id])
    return (found[article_id].id, found[article_id].how) if article_id in found else None


async def test_pair_and_unpair_answer_every_case(admin_harness: Harness) -> None:
    harness = admin_harness
    services = harness.services
    strike, huelga, festival, tamales = await _load(services)
    assert await _partner(services, strike) == (huelga, "explicit")

    async def say(text: str) -> str:
        return (await harness.say(ADMIN, ADMIN, text)).text or ""

    for typed in ("/pair", f"/pair {strike}", f"/pair {strike} x", "/pair 1 2 3"):
        assert (await say(typed)).startswith("Use /pair ID ID"), typed
    assert "its own translation" in await say(f"/pair {strike} {strike}")
    assert f"#{strike} and #{tamales} are both in English" in await say(f"/pair {strike} {tamales}")
    assert "there is no article #987654" in await say(f"/pair {strike} 987654")
    assert await admin.audit_entries(services.db) == []  # refusals change nothing

    answer = await say(f"/pair #{strike} #{festival}")
    assert answer.startswith(f"✅ Paired #{strike} “Harbour strike enters its third week”")
    assert f"Undone to make it: #{strike} ↔ #{huelga}" in answer
    assert await _partner(services, strike) == (festival, "manual")
    assert await _partner(services, huelga) is None
    assert "already paired by an admin" in await say(f"/pair {festival} {strike}")

    answer = await say(f"/unpair {festival}")
    assert answer.startswith(f"✅ #{festival} “Festival de cine en Guadalajara” and #{strike}")
    assert await _partner(services, strike) is None
    assert "has no translation paired" in await say(f"/unpair {festival}")
    assert "There is no article #987654" in await say("/unpair 987654")
    assert (await say("/unpair")).startswith("Use /unpair ID")

    entries = [(e.action, e.detail) for e in await admin.audit_entries(services.db)]
    assert entries == [
        ("unpair", f"#{festival} #{strike}"),
        ("pair", f"#{strike} #{festival} (was #{strike}-#{huelga})"),
    ]


async def test_readers_may_not_pair(admin_harness: Harness) -> None:
    services = admin_harness.services
    strike, huelga, *_ = await _load(services)
    answer = await admin_harness.say(READER, READER, f"/unpair {strike}")
    assert "para los administradores" in (answer.text or "")
    assert await _partner(services, strike) == (huelga, "explicit")


async def test_an_unpaired_story_stays_apart_when_it_arrives_again(
    admin_harness: Harness,
) -> None:
    """/unpair vetoes: the same articles loaded again, and the pairing pass run
    on them again (links, then the matcher), leave them apart."""
    services = admin_harness.services
    strike, huelga, *_ = await _load(services)
    answer = await admin_harness.say(ADMIN, ADMIN, f"/unpair {strike}")
    assert (answer.text or "").startswith("✅")
    assert await _load(services) == ()  # nothing new
    await pair_arrivals(services.db, [strike, huelga], now=services.now())
    assert await _partner(services, strike) is None
    assert await _partner(services, huelga) is None


async def test_a_manual_pair_holds_against_a_later_source_link(admin_harness: Harness) -> None:
    services = admin_harness.services
    strike, _huelga, festival, _ = await _load(services)
    await admin_harness.say(ADMIN, ADMIN, f"/pair {strike} {festival}")
    (claimer,) = await _load(
        services,
        "Huelga en el puerto\n"
        "Language: es\n"
        "URL: https://pub.example/es/otra-huelga\n"
        "Traducción: https://pub.example/en/harbour-strike\n"
        "\n"
        "Otra versión.\n",
    )
    assert await _partner(services, strike) == (festival, "manual")
    assert await _partner(services, claimer) is None


async def test_confirming_a_pair_makes_it_an_admins(admin_harness: Harness) -> None:
    services = admin_harness.services
    strike, huelga, *_ = await _load(services)
    answer = await admin_harness.say(ADMIN, ADMIN, f"/pair {huelga} {strike}")
    assert (answer.text or "").startswith("✅ Paired")
    assert "Undone" not in (answer.text or "")
    assert await _partner(services, strike) == (huelga, "manual")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_outcome_has_its_own_answer(admin_harness: Harness, language: str) -> None:
    services = admin_harness.services
    strike, huelga, *_ = await _load(services)
    first, second = await articles.get_many(services.db, [strike, huelga])
    answers = {
        outcome: pairing.pair_text(
            pairing.Paired(outcome, first, None if outcome == "unknown" else second),
            strike,
            987654 if outcome == "unknown" else huelga,
            language,
        )
        for outcome in get_args(Outcome)
    }
    assert len(set(answers.values())) == len(answers), answers
    assert "987654" in answers["unknown"]
    assert all(text.strip() for text in answers.values())
    assert answers["paired"].startswith("✅")
    assert answers["vetoed"] == t(language, "admin.pair_vetoed")
