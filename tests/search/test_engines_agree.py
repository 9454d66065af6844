"""SQLite and PostgreSQL find the same articles, in the same order.

The same articles go into a SQLite store and a PostgreSQL store through the
normal ingest path: the bundled sample, a synthetic archive in both languages,
and a few written to trip a full-text engine (accents, plurals, hyphens,
apostrophes, digits run into letters, addresses, the words where an English
stem is another word's Spanish stem). Then every query the search tests ask,
and those, goes through the real search service on both (`PAGES`), and to the
store for every match; the lists of ids, and the other version each hit links,
must be equal. FTS5 and tsquery differ in syntax, tokenizer and column filters
(`bot.store.fulltext` maps one onto the other); any difference that changes a
result fails here.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench import corpus
from bot.config import DATA_DIR
from bot.ingest.entry import Entry
from bot.ingest.listing import read_listing
from bot.ingest.pipeline import ingest, prepare
from bot.runtime import sync_catalogue
from bot.search.query import QueryError, parse_query
from bot.search.service import SearchResult, find
from bot.store import articles
from bot.store.db import Database
from bot.topics import Catalogue, load_catalogue
from tests.postgres import Server

NOW = corpus.LAST_DAY + 86_400
SYNTHETIC = 200
_databases = itertools.count(1)

CRAFTED = [
    Entry(
        "Migrantes en la frontera: la catástrofe humanitaria continúa",
        "Los trabajadores migrantes denuncian la represión en Ciudad Juárez.",
        language="es",
    ),
    Entry(
        "Migrant workers' well-known struggle against the e-mail surveillance",
        "A state-of-the-art COVID-19 crackdown: the workers' movement responds.",
        language="en",
    ),
    Entry(
        "La clase obrera mexicana y el CO2: ¿quién paga?",
        "Las emisiones de 1e10 toneladas; niños y niñas en la calle. AMLO’s plan.",
        language="es",
    ),
    Entry(
        "The Mexican state and the United States",
        "States, nations and the state: info@example.org wrote https://example.org/x-y.",
        language="en",
    ),
    Entry(
        "Catastrophe in Ciudad Juarez",
        "Juárez, juarez, JUÁREZ: d'Artagnan and l'état, ñandú and Ñandú, x_y and 3d-printed.",
        language="en",
    ),
    Entry(
        "Femicidios en México: ¡Ni Una Menos!",
        "Feminicidio, femicide, femicides: la lucha de las mujeres por sus derechos.",
        language="es",
    ),
]

# Every query the search tests ask (tests/search, tests/store/test_search_index.py),
# then the crafted cases: prefixes, phrases, NOT, lang:, topic:, title ranking,
# accents, plurals and the tokens the two engines' tokenizers split differently.
QUERIES = [
    # tests/search/test_service.py
    "juarez",
    "migrantes",
    "femicide",
    "students",
    "revolution",
    '"ciudad juarez"',
    '"juarez ciudad"',
    "mexico -video",
    "femi*",
    "juarez lang:es",
    "topic:video",
    "mexico topic:Vídeo",
    "mexico topic:video",
    '"unbalanced AND OR NOT (',
    "mexico",
    "catastrophe",
    # tests/search/test_query.py and test_query_rules.py
    'migrants "ciudad juárez" -video femi* topic:history lang:es',
    "the migrants",
    "the",
    "topic:history",
    "mig*",
    "ñan*",
    "migra* revolu*",
    "migra* migra* revolu*",
    "juarez -capit*",
    "a b c",
    "ies*",
    "foo-bar",
    # tests/search/test_named.py and test_normal_form.py
    "mujeres",
    "Mujer",
    "femicides",
    "derechos de las mujeres",
    "mujeres derechos",
    '"ni una menos"',
    "mujer*",
    "mujeres topic:government",
    "mujeres juarez",
    "Ciudad Juárez",
    "juarez CIUDAD",
    "the ciudad, juárez juarez",
    '"Ciudad Juárez"',
    "peace -war",
    "Revolu* migra*",
    "Ñandú",
    "niño",
    "x_y",
    "lang:EN",
    '"a b',
    "topic:migration",
    'topic:"derechos de las"',
    # tests/store/test_search_index.py
    "neoliberalism",
    "capitalismo",
    "the of and to in",
    "de la que",
    '"clase obrera"',
    "neoliberalism -capitalism",
    "mex*",
    "capi*",
    "migra*",
    "revolu*",
    "capital* neolib*",
    "neoliberal*",
    "juárez",
    "the topic:marxism",
    "capi* topic:government topic:marxism",
    "the topic:students",
    "capi* lang:es",
    "de la que lang:en",
    # accents, plurals, both languages
    "catástrofe",
    "CATASTROFE",
    "catastrophes",
    "trabajador",
    "trabajadores",
    "worker",
    "workers'",
    "migrant",
    "migrante",
    "mexicana",
    "mexican",
    "states",
    "state",
    "nations",
    "niños",
    "nandu",
    # hyphens, digits run into letters, apostrophes, addresses
    "well-known",
    '"well known"',
    "e-mail",
    "email",
    "state-of-the-art",
    "covid-19",
    "covid19",
    "co2",
    "1e10x",
    "1e10",
    "1e10 toneladas",
    "3d-printed",
    "AMLO’s",
    "amlo",
    "d'Artagnan",
    "artagnan",
    "l'état",
    "info@example.org",
    "https://example.org/x-y",
    "example.org",
    # title ranking, phrases across columns, exclusions of phrases and prefixes
    "migrant* -catastrophe",
    '"la catastrofe" -"ciudad juarez"',
    "juarez -juar*",
    '"juarez catastrophe"',
    '"continua migrantes"',
    '"migrant worker*"',
    '"state united"',
    "mexican state",
    "-mexico state",
    "femicid* mujeres lang:es",
    "lang:es",
    "lang:en topic:video",
]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(DATA_DIR / "topics.toml")


def _sources() -> list[tuple[str, list[Entry]]]:
    return [
        ("articles.txt", read_listing(DATA_DIR / "articles.txt")),
        ("https://news.example.org/rss", list(corpus.entries(SYNTHETIC))),
        ("crafted.txt", CRAFTED),
    ]


async def _load(db: Database, catalogue: Catalogue) -> None:
    """Ingest as start-up and a feed poll do: the catalogue, then each source's
    entries stored and paired with their translations."""
    await sync_catalogue(db, catalogue)
    for source, entries in _sources():
        await ingest(db, entries, source=source, catalogue=catalogue, now=NOW)


@pytest.fixture
async def engines(
    tmp_path: Path, postgres: Server, catalogue: Catalogue
) -> AsyncIterator[tuple[Database, Database]]:
    name = f"engines_agree_{next(_databases)}"
    postgres.psql(f"CREATE DATABASE {name}")
    lite = await Database.open(tmp_path / "bot.sqlite3")
    try:
        pg = await Database.open(postgres.url(name))
        try:
            for db in (lite, pg):
                await _load(db, catalogue)
            yield lite, pg
        finally:
            await pg.close()
    finally:
        await lite.close()


def _page(result: SearchResult) -> tuple[object, ...]:
    """A page as a reader sees it: each article, and the other version it links."""
    return (
        result.problem,
        [(hit.article.id, hit.article.translation) for hit in result.hits],
        result.has_more,
    )


async def test_every_query_finds_the_same_articles_on_both_engines(
    engines: tuple[Database, Database], catalogue: Catalogue
) -> None:
    lite, pg = engines
    stored, pairs = [], []
    for db in (lite, pg):
        stored.append([(a.id, a.title) for a in await articles.latest(db, limit=1_000)])
        pairs.append(await db.fetchall("SELECT article_id, other_id FROM translations"))
    assert stored[0] == stored[1]
    assert len(stored[0]) > SYNTHETIC
    assert sorted(map(tuple, pairs[0])) == sorted(map(tuple, pairs[1]))
    assert pairs[0], "the sample's story in two languages is paired"
    differ: list[str] = []
    found = 0
    for text in QUERIES:
        # Pages as a reader gets them from the search service, in no reading
        # language, in one (a paired story once), and a later page.
        for page, page_size, prefer in ((0, 50, None), (0, 50, "es"), (1, 3, "en")):
            pages = [
                _page(
                    await find(db, catalogue, text, page=page, page_size=page_size, prefer=prefer)
                )
                for db in (lite, pg)
            ]
            if pages[0] != pages[1]:
                differ.append(
                    f"{text!r} page {page} of {page_size}, prefer {prefer}:"
                    f" {pages[0]} != {pages[1]}"
                )
        # Every match (up to the ranking window), straight from the store with
        # the service's filters.
        try:
            query = parse_query(text)
        except QueryError:
            continue
        slugs = [topic.slug for name in query.topics if (topic := catalogue.resolve(name))]
        every = [
            [
                a.id
                for a in await articles.search(
                    db, query.text_match(), topics=slugs, language=query.language, limit=5_000
                )
            ]
            for db in (lite, pg)
        ]
        if every[0] != every[1]:
            differ.append(f"{text!r} every match: {every[0]} != {every[1]}")
        found += bool(every[0])
    assert differ == [], "\n".join(differ)
    assert found > len(QUERIES) // 2  # the queries find things, not nothing alike


@pytest.mark.xfail(
    strict=True,
    reason="PostgreSQL's parser reads `1e10x` as the number 1e10 and the word x, where FTS5"
    " keeps one word: a search of either piece finds it there too (the whole word is still"
    " found, as a phrase of its pieces: bot.store.fulltext)",
)
async def test_a_number_in_scientific_notation_run_into_letters_is_one_word(
    tmp_path: Path, postgres: Server, catalogue: Catalogue
) -> None:
    name = f"engines_agree_{next(_databases)}"
    postgres.psql(f"CREATE DATABASE {name}")
    entries = [Entry("Model 1e10x", "Sold out", language="en"), Entry("Plain x", language="en")]
    found: list[list[list[int]]] = []
    for target in (tmp_path / "bot.sqlite3", postgres.url(name)):
        db = await Database.open(target)
        try:
            await sync_catalogue(db, catalogue)
            await articles.insert_with_ids(
                db,
                [
                    prepare(entry, source="s", catalogue=catalogue, now=NOW, position=position)
                    for position, entry in enumerate(entries)
                ],
            )
            found.append([await _search(db, text) for text in ("1e10x", "1e10", "x")])
        finally:
            await db.close()
    assert found[0] == [[1], [], [2]]
    assert found[1] == found[0]


async def _search(db: Database, text: str) -> list[int]:
    match = parse_query(text).text_match()
    assert match is not None
    return [a.id for a in await articles.search(db, match, limit=10)]
