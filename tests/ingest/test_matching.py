"""Pairs from the text: the sample's one story, the evaluation set's decisions,
what is never paired, and a bounded cost on a batch of look-alikes."""

from __future__ import annotations

from dataclasses import replace

from bot.ingest import matching
from bot.ingest.entry import Entry
from bot.ingest.pipeline import ingest, prepare
from bot.runtime import Content
from bot.store import articles, translations
from bot.store.db import Database
from bot.store.translations import StoryText
from bot.topics import Catalogue
from tests import translation_set

DAY = 86_400
T = 1_764_000_000

EN = Entry(
    title="Death of Migrants in Ciudad Juárez, Mexico: Capitalism and Its Representatives to Blame",
    summary="On March 27, a humanitarian catastrophe occurred at a migration detention center in"
    " Ciudad Juárez, which resulted in around 40 deaths and more than 20 people being left in"
    " critical condition.",
    language="en",
)
ES = Entry(
    title="La muerte de Migrantes en Chihuahua: El culpable es el capitalismo y sus representantes",
    summary="En un centro de detención migratoria del Instituto Nacional de Migración (INM) en"
    " Ciudad Juárez, Chihuahua, se registró una catástrofe humanitaria, en la que hubo decesos.",
    language="es",
)


async def _pairs(db: Database) -> set[tuple[str, str]]:
    found = set()
    for pair in await translations.pairs(db):
        first, second = await articles.get_many(db, [pair.first_id, pair.second_id])
        found.add((first.title, second.title))
    return found


async def test_the_sample_pairs_its_one_story_and_nothing_else(content: Content) -> None:
    """The bundled listing, loaded as a new install loads it (undated, one batch)."""
    made = await _pairs(content.db)
    assert len(made) == 1
    (first, second), *_ = made
    assert {first[:30], second[:30]} == {EN.title[:30], ES.title[:30]}
    femicides = [
        a
        for a in await articles.latest(content.db, limit=50)
        if "Femicides" in a.title or "Ni Una Menos" in a.title
    ]
    assert len(femicides) == 2
    assert await translations.partners(content.db, [a.id for a in femicides]) == {}


async def test_decisions_on_the_fixed_subset(db: Database, catalogue: Catalogue) -> None:
    """The evaluation set ingested as one archive: its close translations are
    paired and none of its look-alike stories is."""
    evalset = translation_set.load()
    subset = translation_set.FIXED_SUBSET(evalset)
    by_title = {(a.language, a.title): a.id for a in evalset.articles}
    report = await ingest(
        db,
        [
            Entry(
                title=a.title,
                summary=a.summary,
                guid=a.id,
                language=a.language,
                published_at=None if a.published is None else _noon(a.published.toordinal()),
            )
            for a in evalset.articles
        ],
        source="evaluation",
        catalogue=catalogue,
        now=T,
    )
    stored = {
        a.id: by_title[a.language, a.title] for a in await articles.get_many(db, report.new_ids)
    }
    made = set()
    for pair in await translations.pairs(db):
        first, second = stored[pair.first_id], stored[pair.second_id]
        made.add((first, second) if first.endswith("-en") else (second, first))
    assert subset.must_not_pair
    assert not made & subset.must_not_pair
    missed = subset.must_pair - made
    assert len(missed) <= len(subset.must_pair) // 10, sorted(missed)


def _noon(ordinal: int) -> int:
    """Unix seconds at noon UTC of a proleptic Gregorian day number."""
    return (ordinal - 719_163) * DAY + DAY // 2


async def _ingest(db: Database, catalogue: Catalogue, *entries: Entry, now: int = T) -> list[int]:
    report = await ingest(db, entries, source=f"s{now}", catalogue=catalogue, now=now)
    return list(report.new_ids)


async def test_translations_arriving_apart_pair_when_the_second_comes(
    db: Database, catalogue: Catalogue
) -> None:
    [en] = await _ingest(db, catalogue, EN)
    [es] = await _ingest(db, catalogue, ES, now=T + DAY)
    assert (await translations.partners(db, [en]))[en].id == es
    assert (await translations.partners(db, [en]))[en].how == "text"


async def test_undated_articles_count_at_their_fetch_time(
    db: Database, catalogue: Catalogue
) -> None:
    """Both undated: ten days apart is outside the window, two days inside it."""
    [en] = await _ingest(db, catalogue, EN)
    [es] = await _ingest(db, catalogue, ES, now=T + 10 * DAY)
    assert await translations.count(db) == 0
    dated = Entry(EN.title + ".", EN.summary, language="en", published_at=T + 9 * DAY)
    [again] = await _ingest(db, catalogue, dated, now=T + 11 * DAY)
    assert (await translations.partners(db, [es]))[es].id == again
    assert en not in await translations.partners(db, [en])


async def test_the_same_language_is_never_paired(db: Database, catalogue: Catalogue) -> None:
    near_copy = Entry(EN.title + " (updated)", EN.summary + " More soon.", language="en")
    await _ingest(db, catalogue, EN, near_copy)
    assert await translations.count(db) == 0


async def test_an_article_already_paired_is_not_taken(db: Database, catalogue: Catalogue) -> None:
    other = Entry("Workers strike at the port", "Dockers stopped work for pay.", language="en")
    es, unrelated = await _ingest(db, catalogue, ES, other)
    assert await translations.link(db, es, unrelated, how="manual", now=T) == "paired"
    [en] = await _ingest(db, catalogue, EN, now=T + 60)
    assert (await translations.partners(db, [es]))[es].id == unrelated
    assert await translations.partners(db, [en]) == {}


async def test_a_vetoed_pair_is_not_made_again(db: Database, catalogue: Catalogue) -> None:
    en, es = await _ingest(db, catalogue, EN, ES)
    assert await translations.unlink(db, en, now=T) == es
    await translations.unlink(db, es, now=T)
    made = await matching.pair_by_text(db, [en, es], now=T, window_days=3)
    assert made == 0
    assert await translations.count(db) == 0


async def test_window_zero_turns_text_pairing_off(db: Database, catalogue: Catalogue) -> None:
    report = await ingest(db, [EN, ES], source="s", catalogue=catalogue, now=T, pair_window_days=0)
    assert report.new == 2
    assert await translations.count(db) == 0


def test_a_thousand_look_alikes_pair_nothing_at_bounded_cost() -> None:
    """500 English and 500 Spanish articles that all say the same: no text can
    tell which is whose translation, and only a few candidates per article are
    scored, never every article against every other."""
    texts = [
        StoryText(
            id=n,
            language="en" if n % 2 else "es",
            at=T + n,
            title=(EN if n % 2 else ES).title + f" {n}",
            summary=(EN if n % 2 else ES).summary,
        )
        for n in range(1_000)
    ]
    work = matching.find_pairs(texts, [t.id for t in texts], window=3 * DAY)
    assert work.matches == []
    assert work.scored <= len(texts) * matching.CANDIDATES


def test_numbers_and_dates_read_alike_in_both_languages() -> None:
    def keys(language: str, text: str) -> set[str]:
        found = matching.keys(StoryText(id=1, language=language, at=0, title="", summary=text))
        return {k for k in found if k[0] in "#dy"}

    assert keys("en", "1.2 million marched on March 27, 2023") == keys(
        "es", "1,2 millones marcharon el 27 de marzo de 2023"
    )
    assert keys("en", "ten days, 3% and 2,400 workers") == keys(
        "es", "diez días, 3 % y 2.400 trabajadores"
    )


def test_keys_worked_out_at_ingest_are_the_keys_of_the_text(catalogue: Catalogue) -> None:
    """Ingest derives an article's keys from the words and stems it has for the
    index (and skips the number patterns on a text without digits): the same
    keys as from the text alone, on every article of the evaluation set and on
    texts with dates, numbers, digits inside words and acronyms."""
    texts = [(a.title, a.summary, a.language) for a in translation_set.load().articles]
    texts += [
        (
            "1.2 million marched on March 27, 2023 in Ciudad Juárez",
            "The G20 and COVID19 - ten days",
            "en",
        ),
        (
            "El 27 de marzo de 2023: 1,2 millones",
            "La OTAN, el 3 % y 2.400 trabajadores en H2O",
            "es",
        ),
        ("", "", "en"),
    ]
    assert len(texts) > 325
    for title, summary, language in texts:
        stored = prepare(
            Entry(title=title, summary=summary, language=language),
            source="s",
            catalogue=catalogue,
            now=T,
        ).story_keys
        assert stored is not None
        text = StoryText(id=1, language=language, at=T, title=title, summary=summary)
        assert set(stored) == matching.keys(text), title


async def test_stored_keys_are_read_instead_of_the_text(db: Database, catalogue: Catalogue) -> None:
    """Articles stored with their keys are read without their text; one stored
    without them (before keys were kept) is read with it, and both still pair."""
    # Stored while text pairing was off: no keys, as an article from before them.
    report = await ingest(db, [ES], source="s", catalogue=catalogue, now=T, pair_window_days=0)
    [es] = report.new_ids
    [en] = await _ingest(db, catalogue, EN, now=T + 60)
    # Read before pairing: unpair them (no veto) to see the pool as the matcher did.
    await translations.unlink(db, en, now=T, veto=False)
    [read_en] = await translations.single_texts(db, [en])
    [read_es] = await translations.single_texts(db, [es])
    assert read_en.keys is not None
    assert read_en.title == ""
    assert read_en.summary == ""
    assert read_es.keys is None
    assert read_es.title == ES.title
    assert matching.keys(read_en) == matching.keys(
        StoryText(
            id=en, language="en", at=T, title=EN.title, summary=EN.summary, topics=read_en.topics
        )
    )
    assert await matching.pair_by_text(db, [en], now=T, window_days=3) == 1


async def test_a_one_language_ingest_reads_no_pool(db: Database, catalogue: Catalogue) -> None:
    """With no article of the other language within reach, nothing is read
    for matching: the texts near the arrivals are never asked for."""
    [first] = await _ingest(db, catalogue, EN)
    near = await translations.single_texts_near(db, [T], reach=6 * DAY)
    assert [t.id for t in near] == [first]
    assert not await translations.single_other_language_near(db, "en", [T], reach=3 * DAY)
    [_es] = await _ingest(db, catalogue, ES, now=T + 5 * DAY)
    assert not await translations.single_other_language_near(db, "en", [T], reach=3 * DAY)
    assert await translations.single_other_language_near(db, "en", [T + 4 * DAY], reach=3 * DAY)
    assert await translations.single_other_language_near(db, "es", [T + 2 * DAY], reach=3 * DAY)


async def test_arrivals_in_hand_are_the_arrivals_read_back(
    db: Database, catalogue: Catalogue
) -> None:
    """Ingest matches its arrivals as it stored them, without reading them
    back: what it has in hand is what the matcher would read (dated or not,
    with keys or without), so no decision depends on which it used."""
    prepared = [
        prepare(entry, source="s", catalogue=catalogue, now=T, position=n, story_keys=keys)
        for n, (entry, keys) in enumerate(
            [
                (EN, True),
                (replace(ES, published_at=T - DAY), False),
                (replace(ES, title="Otra"), True),
            ]
        )
    ]
    stored = await articles.insert_with_ids(db, prepared)
    read = {t.id: t for t in await translations.single_texts(db, [i for i, _ in stored])}
    assert len(read) == len(stored) == 3
    for article_id, article in stored:
        in_hand = translations.arriving(article_id, article)
        as_read = read[article_id]
        assert in_hand.topics
        assert in_hand == replace(
            as_read, topics=tuple(sorted(as_read.topics, key=in_hand.topics.index))
        )
