"""The foundation's must-holds, on the real seed articles in a real SQLite file."""

from __future__ import annotations

from bot.runtime import Content
from bot.search.query import QueryProblem
from bot.search.service import find
from bot.store import articles, topics


async def _titles(content: Content, text: str) -> list[str]:
    result = await find(content.db, content.catalogue, text, page_size=20)
    assert result.problem is None, result.problem
    return [hit.article.title for hit in result.hits]


async def test_seed_is_loaded_into_an_empty_database(content: Content) -> None:
    assert await articles.count(content.db) == 12
    spanish = await articles.latest(content.db, language="es", limit=20)
    assert [a.title for a in spanish] == [
        "La muerte de Migrantes en Chihuahua: El culpable es el capitalismo y sus representantes"
    ]


async def test_accent_insensitive_across_languages(content: Content) -> None:
    found = await _titles(content, "juarez")
    assert len(found) == 2
    assert any(t.startswith("Death of Migrants in Ciudad Juárez") for t in found)
    assert any(t.startswith("La muerte de Migrantes") for t in found)


async def test_stemmed_in_both_languages(content: Content) -> None:
    found = await _titles(content, "migrantes")
    assert len(found) == 2
    assert any(t.startswith("Death of Migrants") for t in found)
    assert any(t.startswith("La muerte de Migrantes") for t in found)


async def test_femicide_finds_both_femicide_articles(content: Content) -> None:
    found = await _titles(content, "femicide")
    assert sorted(found) == [
        "Femicides in Mexico: Justice for Alexis!",
        "[Video] ¡Ni Una Menos! The Struggle Against Femicides in Mexico",
    ]


async def test_title_matches_rank_above_summary_matches(content: Content) -> None:
    found = await _titles(content, "students")
    assert found[0] == "Momentum Continues with #CommunismOnCampus Campaign!"
    found = await _titles(content, "revolution")
    assert found[0] == "[Video] Villa, Zapata, and the Mexican Revolution"


async def test_phrase_exclusion_prefix_and_filters(content: Content) -> None:
    assert await _titles(content, '"ciudad juarez"') != []
    assert await _titles(content, '"juarez ciudad"') == []
    assert all("Video" not in t for t in await _titles(content, "mexico -video"))
    assert len(await _titles(content, "femi*")) == 2
    assert await _titles(content, "juarez lang:es") == [
        "La muerte de Migrantes en Chihuahua: El culpable es el capitalismo y sus representantes"
    ]
    assert await _titles(content, "topic:video") == [
        "[Video] ¡Ni Una Menos! The Struggle Against Femicides in Mexico",
        "[Video] Villa, Zapata, and the Mexican Revolution",
    ]
    assert await _titles(content, "mexico topic:Vídeo") == await _titles(
        content, "mexico topic:video"
    )


async def test_fts_junk_is_a_clean_answer(content: Content) -> None:
    result = await find(content.db, content.catalogue, '"unbalanced AND OR NOT (')
    assert result.problem is None
    assert result.hits == []
    result = await find(content.db, content.catalogue, "x" * 5000)
    assert result.problem is QueryProblem.TOO_LONG
    result = await find(content.db, content.catalogue, "topic:nonexistent")
    assert result.problem is QueryProblem.UNKNOWN_TOPIC


async def test_pagination(content: Content) -> None:
    first = await find(content.db, content.catalogue, "mexico", page=0, page_size=3)
    second = await find(content.db, content.catalogue, "mexico", page=1, page_size=3)
    assert first.has_more
    ids = {h.article.id for h in first.hits} | {h.article.id for h in second.hits}
    assert len(ids) == len(first.hits) + len(second.hits)


async def test_snippet_marks_the_match(content: Content) -> None:
    result = await find(content.db, content.catalogue, "catastrophe")
    marked = [s.text for hit in result.hits for s in hit.snippet if s.marked]
    assert "catastrophe" in marked


async def test_every_seed_article_has_a_topic(content: Content) -> None:
    counted = {t.slug: t.articles for t in await topics.counts(content.db)}
    assert set(counted) == {t.slug for t in content.catalogue.topics}
    latest = await articles.latest(content.db, limit=50)
    assert [a.title for a in latest if not a.topics] == []
    assert counted["migration"] == 1  # the sample's story in two languages counts once
    assert counted["womens-rights"] == 3
    assert counted["video"] == 2
