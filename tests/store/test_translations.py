"""The pairs table: one partner per article, vetoes, and how pairs rank."""

from __future__ import annotations

from bot.store import articles, translations
from bot.store.articles import NewArticle
from bot.store.db import Database

T = 1_764_000_000


def _article(n: int, language: str) -> NewArticle:
    title = f"Story {n}"
    return NewArticle(
        source="https://example.org/feed",
        guid=f"g{n}",
        url=f"https://example.org/{language}/{n}",
        title=title,
        summary="",
        language=language,
        published_at=T + n,
        fetched_at=T + n,
        content_hash=f"h{n}",
        title_en=title.lower(),
        title_es=title.lower(),
        summary_en="",
        summary_es="",
        topics=(),
    )


async def _stored(db: Database, *languages: str) -> list[int]:
    return await articles.insert(
        db, [_article(n, language) for n, language in enumerate(languages)]
    )


async def test_a_pair_reads_both_ways_and_unpairs_whole(db: Database) -> None:
    en, es = await _stored(db, "en", "es")
    assert await translations.link(db, en, es, how="text", score=0.9, now=T) == "paired"
    found = await translations.partners(db, [en, es])
    assert (found[en].id, found[en].language, found[en].how) == (es, "es", "text")
    assert (found[es].id, found[es].title) == (en, "Story 0")
    assert await translations.link(db, es, en, how="text", now=T) == "already"
    assert await translations.count(db) == 1
    assert await translations.unlink(db, es, now=T) == en
    assert await translations.partners(db, [en, es]) == {}
    assert await translations.unlink(db, es, now=T) is None


async def test_bad_pairs_are_refused(db: Database) -> None:
    en, es, en2, es2 = await _stored(db, "en", "es", "en", "es")
    assert await translations.link(db, en, en, how="manual", now=T) == "same_article"
    assert await translations.link(db, en, en2, how="manual", now=T) == "same_language"
    assert await translations.link(db, en, 10_000, how="manual", now=T) == "unknown"
    assert await translations.link(db, en, es, how="explicit", now=T) == "paired"
    # A chain: es2 may not take en, which is taken by a source's own link.
    assert await translations.link(db, en, es2, how="text", now=T) == "taken"
    assert await translations.link(db, en, es2, how="explicit", now=T) == "taken"
    assert [(p.first_id, p.second_id) for p in await translations.pairs(db)] == [(en, es)]


async def test_ranks_and_vetoes(db: Database) -> None:
    en, es, es2 = await _stored(db, "en", "es", "es")
    assert await translations.link(db, en, es, how="text", now=T) == "paired"
    # A source's link replaces the matcher's guess; an admin's pair replaces anything.
    assert await translations.link(db, en, es2, how="explicit", now=T, replace={"text"}) == "paired"
    assert (await translations.partners(db, [es])) == {}
    assert (
        await translations.link(
            db, en, es, how="manual", now=T, replace={"text", "explicit", "manual"}
        )
        == "paired"
    )
    assert await translations.unlink(db, en, now=T) == es
    # Vetoed: no matcher or source pairs them again, an admin can.
    assert await translations.link(db, en, es, how="text", now=T) == "vetoed"
    assert await translations.link(db, es, en, how="explicit", now=T) == "vetoed"
    assert await translations.link(db, es, en, how="manual", now=T) == "paired"
    assert await translations.unlink(db, en, now=T, veto=False) == es
    assert await translations.link(db, en, es, how="text", now=T) == "paired"
