"""What the translation matcher and the sources' links read of the store: the
articles still single, those near in time, the vetoes among some, and which
stored articles the claims name. The same rows, in the same order, on both
engines (each reads a list of ids or of time spans its own way)."""

from __future__ import annotations

import dataclasses

from bot.store import articles, topics, translation_claims, translations
from bot.store.articles import NewArticle
from bot.store.db import Database
from bot.store.topics import TopicRow

T = 1_764_000_000


def _article(n: int, language: str, *, at: int | None = None, **fields: object) -> NewArticle:
    title = f"Story {n}"
    article = NewArticle(
        source="https://example.org/feed",
        guid=f"g{n}",
        url=f"https://example.org/{language}/{n}",
        title=title,
        summary=f"Summary {n}",
        language=language,
        published_at=T + n if at is None else at,
        fetched_at=T + n if at is None else at,
        content_hash=f"h{n}",
        title_en=title.lower(),
        title_es=title.lower(),
        summary_en="",
        summary_es="",
        topics=(),
    )
    return dataclasses.replace(article, **fields)  # type: ignore[arg-type]


async def _store(db: Database, *new: NewArticle) -> list[int]:
    await topics.sync(db, [TopicRow(slug, slug, slug) for slug in ("climate", "economy")])
    return await articles.insert(db, list(new))


async def test_single_texts_in_the_order_asked_with_topics_and_keys(db: Database) -> None:
    a, b, c, d, e = await _store(
        db,
        _article(0, "en", topics=("economy", "climate")),
        _article(1, "es", story_keys=("clima", "energia")),
        _article(2, "en", story_keys=()),
        _article(3, "en"),
        # Undated: its time is when it was fetched.
        _article(4, "es", dated=False, published_at=T + 99, fetched_at=T + 40),
    )
    assert await translations.link(db, d, e, how="text", now=T) == "paired"
    found = await translations.single_texts(db, [c, a, d, e, b])
    assert [(t.id, t.language, t.at, t.title, t.summary) for t in found] == [
        (c, "en", T + 2, "", ""),
        (a, "en", T, "Story 0", "Summary 0"),
        (b, "es", T + 1, "", ""),
    ]
    assert [(t.topics, t.keys) for t in found] == [
        ((), ()),
        (("climate", "economy"), None),
        ((), ("clima", "energia")),
    ]
    assert await translations.unpaired(db, [e, a, d, c]) == [a, c]
    assert await translations.single_texts(db, []) == []
    assert await translations.unpaired(db, []) == []


async def test_single_texts_near_in_time(db: Database) -> None:
    times = [T, T + 100, T + 1_000, T + 5_000, T + 150, T + 170]
    languages = ["es", "en", "es", "en", "es", "en"]
    new = [_article(n, languages[n], at=at) for n, at in enumerate(times)]
    # Undated: its time is when it was fetched, not the date it was given.
    new[4] = dataclasses.replace(new[4], dated=False, published_at=T + 9_999)
    ids = await _store(db, *new)
    by_time = dict(zip(times, ids, strict=True))
    # Two reaches that overlap are one span; a third apart; T + 5,000 out of reach.
    near = await translations.single_texts_near(db, [T + 50, T + 55, T + 1_050], reach=100)
    assert [t.id for t in near] == [by_time[at] for at in (T, T + 100, T + 150, T + 1_000)]
    assert [t.at for t in near] == [T, T + 100, T + 150, T + 1_000]
    # What the caller has is joined, not read again.
    [arrival] = await translations.single_texts(db, [by_time[T + 170]])
    near = await translations.single_texts_near(
        db, [T + 50, T + 1_050], reach=130, besides=[arrival]
    )
    assert [t.at for t in near] == [T, T + 100, T + 150, T + 170, T + 1_000]
    assert near[3] is arrival
    # At most `limit` read, the first in time.
    near = await translations.single_texts_near(
        db, [T + 50, T + 1_050], reach=130, limit=2, besides=[arrival]
    )
    assert [t.at for t in near] == [T, T + 100, T + 170]
    assert await translations.single_texts_near(db, [], reach=100, besides=[arrival]) == [arrival]

    # In the other language, unpaired, within reach.
    assert await translations.single_other_language_near(db, "es", [T + 165], reach=10)
    assert not await translations.single_other_language_near(db, "en", [T + 165], reach=10)
    assert await translations.single_other_language_near(db, "en", [T + 150], reach=10)
    assert await translations.single_other_language_near(db, "en", [T + 50], reach=60)
    assert not await translations.single_other_language_near(db, "en", [], reach=60)
    # Paired articles are not single any more.
    paired = await translations.link(db, by_time[T], by_time[T + 100], how="text", now=T)
    assert paired == "paired"
    near = await translations.single_texts_near(db, [T + 50], reach=100)
    assert [t.id for t in near] == [by_time[T + 150]]
    assert not await translations.single_other_language_near(db, "en", [T + 50], reach=60)


async def test_vetoes_among_articles(db: Database) -> None:
    a, b, c = await _store(db, _article(0, "en"), _article(1, "es"), _article(2, "es"))
    assert await translations.link(db, a, b, how="manual", now=T) == "paired"
    assert await translations.unlink(db, b, now=T) == a
    # Parted twice: still one veto.
    assert await translations.link(db, b, a, how="manual", now=T) == "paired"
    assert await translations.unlink(db, a, now=T) == b
    assert await translations.vetoes_among(db, [c, b, a]) == {(a, b)}
    assert await translations.vetoes_among(db, [a]) == {(a, b)}
    assert await translations.vetoes_among(db, [c]) == set()
    assert await translations.vetoes_among(db, []) == set()
    assert await translations.link(db, a, b, how="text", now=T) == "vetoed"


async def test_claims_name_stored_articles_both_ways(db: Database) -> None:
    """Claims by address and by identifier within the claimer's own source,
    found whichever of the two arrives second, in the order a first claim found
    wins: the new articles' own claims, each new article in turn, then the older
    articles' claims on them, oldest claimer first, at most `per_article` of
    each kind."""
    es_url, other_url = "https://example.org/es/1", "https://example.org/es/5"
    en, es, guid_claimer, self_claimer, en2, es2 = await _store(
        db,
        _article(0, "en", claims=(("url", other_url), ("url", es_url), ("url", "https://x"))),
        _article(1, "es"),
        _article(2, "en", claims=(("guid", "g1"),)),
        _article(3, "es", claims=(("url", "https://example.org/es/3"),)),
        _article(4, "en", claims=(("url", es_url),)),
        _article(5, "es"),
    )
    assert await translation_claims.of_article(db, en) == [
        ("url", es_url),
        ("url", other_url),
        ("url", "https://x"),
    ]
    # The Spanish ones are new: their claimers, by address and by identifier.
    assert await translation_claims.claimed(db, [es2, es], per_article=5) == [
        (en, es2),
        (en, es),
        (en2, es),
        (guid_claimer, es),
    ]
    assert await translation_claims.claimed(db, [es], per_article=1) == [
        (en, es),
        (guid_claimer, es),
    ]
    # The claimers are new: what they name; a claim on itself is no pair, and
    # one pair is listed once.
    assert await translation_claims.claimed(
        db, [guid_claimer, self_claimer, en2, en], per_article=5
    ) == [(en2, es), (en, es), (en, es2), (guid_claimer, es)]
    # A claimer already paired from a source's link is no candidate any more.
    assert await translations.link(db, en, es, how="explicit", now=T) == "paired"
    assert await translation_claims.claimed(db, [es], per_article=5) == [
        (en2, es),
        (guid_claimer, es),
    ]
    assert await translation_claims.claimed(db, [], per_article=5) == []
