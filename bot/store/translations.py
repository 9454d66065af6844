"""Articles paired with their translation, and the admins' vetoes.

A pair is two rows of `translations`, one each way, written and removed in one
transaction: reading "the other version" of any set of articles is then one
indexed lookup, and the schema itself keeps an article to one partner. How a
pair was made is kept (`explicit` from the sources' links, `text` from the
matcher's evidence, `manual` from an admin) because the three rank: an admin's
decision is never undone by the other two, and a source's own link replaces a
guess from the text.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from bot.store.db import Database, Dialect, Row, Transaction

if TYPE_CHECKING:
    from bot.store.articles import NewArticle

How = Literal["explicit", "text", "manual"]
Outcome = Literal[
    "paired",  # the two are now a pair
    "already",  # they already were, nothing changed
    "same_article",  # an article cannot be its own translation
    "same_language",  # a translation is in the other language
    "unknown",  # one of the ids is no stored article
    "taken",  # one of them has another partner that this pairing may not replace
    "vetoed",  # an admin said these two are not a pair
]


@dataclass(frozen=True)
class Partner:
    """The other version of an article: what a reader needs to be offered it."""

    article_id: int
    """The article this is the partner of."""
    id: int
    language: str
    title: str
    url: str | None
    how: How
    score: float | None


@dataclass(frozen=True)
class Pair:
    """A pair as admins list it: the lower id first."""

    first_id: int
    second_id: int
    how: How
    score: float | None
    at: int


async def partners(db: Database, article_ids: Sequence[int]) -> dict[int, Partner]:
    """The other version of each of `article_ids` that has one."""
    if not article_ids:
        return {}
    rows = await db.fetchall(
        "SELECT t.article_id, t.how, t.score, o.id, o.language, o.title, o.url"
        f" FROM {_IDS[db.dialect]}"
        " JOIN translations AS t ON t.article_id = j.value"
        " JOIN articles AS o ON o.id = t.other_id",
        (_ids(db.dialect, article_ids),),
    )
    return {
        row["article_id"]: Partner(
            article_id=row["article_id"],
            id=row["id"],
            language=row["language"],
            title=row["title"],
            url=row["url"],
            how=row["how"],
            score=row["score"],
        )
        for row in rows
    }


async def link(
    db: Database,
    first_id: int,
    second_id: int,
    *,
    how: How,
    now: int,
    score: float | None = None,
    replace: Collection[How] = (),
) -> Outcome:
    """Pair two articles, in one transaction; what happened.

    An article already paired elsewhere keeps its partner unless that pair was
    made in one of the ways listed in `replace` (an admin's `/pair` replaces
    anything; a source's explicit link replaces the matcher's guess). A veto
    stops every pairing but a manual one, which lifts it."""
    async with db.transaction() as tx:
        return await link_tx(
            tx,
            first_id,
            second_id,
            how=how,
            now=now,
            score=score,
            replace=replace,
            dialect=db.dialect,
        )


async def link_tx(
    tx: Transaction,
    first_id: int,
    second_id: int,
    *,
    how: How,
    now: int,
    score: float | None = None,
    replace: Collection[How] = (),
    dialect: Dialect,
) -> Outcome:
    """`link` inside the caller's transaction (ingest pairs as it stores), on
    the engine `dialect` names."""
    if first_id == second_id:
        return "same_article"
    cursor = await tx.execute(_THE_TWO[dialect], (first_id, second_id))
    languages = {row[0]: row[1] for row in await cursor.fetchall()}
    if len(languages) < 2:
        return "unknown"
    if languages[first_id] == languages[second_id]:
        return "same_language"
    low, high = sorted((first_id, second_id))
    cursor = await tx.execute(
        "SELECT article_id, other_id, how FROM translations WHERE article_id IN (?, ?)",
        (low, high),
    )
    current = {row[0]: (row[1], row[2]) for row in await cursor.fetchall()}
    if current.get(low, (None,))[0] == high:
        if how == "manual" and current[low][1] != "manual":
            # An admin confirming a pair makes it theirs: nothing undoes it now.
            await tx.execute(
                "UPDATE translations SET how = 'manual', score = NULL, at = ?"
                " WHERE article_id IN (?, ?)",
                (now, low, high),
            )
            return "paired"
        return "already"
    if any(existing_how not in replace for _, existing_how in current.values()):
        return "taken"
    vetoed = await (
        await tx.execute(
            "SELECT 1 FROM translation_vetoes WHERE low_id = ? AND high_id = ?", (low, high)
        )
    ).fetchone()
    if vetoed is not None:
        if how != "manual":
            return "vetoed"
        await tx.execute(
            "DELETE FROM translation_vetoes WHERE low_id = ? AND high_id = ?", (low, high)
        )
    for article_id in current:
        await _unlink_tx(tx, article_id)
    await tx.executemany(
        "INSERT INTO translations (article_id, other_id, how, score, at) VALUES (?, ?, ?, ?, ?)",
        [(low, high, how, score, now), (high, low, how, score, now)],
    )
    return "paired"


async def link_many(
    db: Database,
    candidates: Sequence[tuple[int, int]],
    *,
    how: How,
    now: int,
    replace: Collection[How] = (),
    scores: Sequence[float | None] = (),
) -> list[Outcome]:
    """`link` each pair in turn, all in one transaction (an ingest's candidates:
    one write however many there are); each one's outcome. `scores`: the
    matcher's, one per candidate, when it made them."""
    if not candidates:
        return []
    async with db.transaction() as tx:
        return [
            await link_tx(
                tx,
                first,
                second,
                how=how,
                now=now,
                score=scores[number] if scores else None,
                replace=replace,
                dialect=db.dialect,
            )
            for number, (first, second) in enumerate(candidates)
        ]


async def unlink(db: Database, article_id: int, *, now: int, veto: bool = True) -> int | None:
    """Part an article from its translation; the former partner, or None if it had
    none. With `veto` (an admin's `/unpair`) the two are never paired again but by
    hand."""
    async with db.transaction() as tx:
        other = await _unlink_tx(tx, article_id)
        if other is not None and veto:
            low, high = sorted((article_id, other))
            await tx.execute(_VETO[db.dialect], (low, high, now))
        return other


async def _unlink_tx(tx: Transaction, article_id: int) -> int | None:
    row = await (
        await tx.execute("SELECT other_id FROM translations WHERE article_id = ?", (article_id,))
    ).fetchone()
    if row is None:
        return None
    other: int = row[0]
    await tx.execute("DELETE FROM translations WHERE article_id IN (?, ?)", (article_id, other))
    return other


async def pairs(db: Database, *, after_id: int = 0, limit: int = 1_000) -> list[Pair]:
    """Pairs by their lower id, `limit` at a time after `after_id` (for listing
    them all without holding them all)."""
    rows = await db.fetchall(
        "SELECT article_id, other_id, how, score, at FROM translations"
        " WHERE article_id < other_id AND article_id > ?"
        " ORDER BY article_id LIMIT ?",
        (after_id, limit),
    )
    return [
        Pair(
            first_id=row["article_id"],
            second_id=row["other_id"],
            how=row["how"],
            score=row["score"],
            at=row["at"],
        )
        for row in rows
    ]


async def count(db: Database) -> int:
    """How many pairs there are."""
    value: int = await db.fetchval("SELECT count(*) / 2 FROM translations")
    return value


def _json_ids(ids: Sequence[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def _ids(dialect: Dialect, ids: Sequence[int]) -> str | list[int]:
    """Article ids as one parameter: a JSON list for SQLite's json_each, an
    array for PostgreSQL (`_IDS`)."""
    return _json_ids(ids) if dialect == "sqlite" else [int(i) for i in ids]


_IDS: dict[Dialect, str] = {
    "sqlite": "json_each(?) AS j",
    # With each id's place, for the statements that keep the order given.
    "postgresql": "unnest(CAST(? AS bigint[])) WITH ORDINALITY AS j(value, place)",
}
"""A list of article ids as a table `j` of their `value`s."""

_THE_TWO: dict[Dialect, str] = {
    "sqlite": "SELECT id, language FROM articles WHERE id IN (?, ?)",
    # Two processes pairing one of these articles at once take turns: the
    # second reads the pairs the first made (SQLite's one writer orders them).
    "postgresql": "SELECT id, language FROM articles WHERE id IN (?, ?)"
    " ORDER BY id FOR NO KEY UPDATE",
}

_VETO: dict[Dialect, str] = {
    "sqlite": "INSERT OR IGNORE INTO translation_vetoes (low_id, high_id, at) VALUES (?, ?, ?)",
    "postgresql": "INSERT INTO translation_vetoes (low_id, high_id, at) VALUES (?, ?, ?)"
    " ON CONFLICT DO NOTHING",
}


@dataclass(frozen=True)
class StoryText:
    """What the matcher reads of an article still without a partner."""

    id: int
    language: str
    at: int
    """When the story happened as far as pairing knows: its publication date, or
    for an undated article the time it was fetched."""
    title: str
    """Empty when `keys` are stored: the matcher then needs none of the text."""
    summary: str
    topics: tuple[str, ...] = ()
    keys: tuple[str, ...] | None = None
    """The text's matching keys as stored with the article at ingest, or None
    for an article stored before they were (its text is then read instead)."""


KEY_SEPARATOR: Final = "\n"
"""Between an article's stored keys (no key holds a line break)."""

MAX_NEAR: Final = 200_000
"""Articles read for one matching pass at most: an archive loaded in one batch
is read once, never more than this, whatever its size."""

# The expression of migration 0021's index, spelt the same so the index is used.
_STORY_AT = "(CASE WHEN a.dated THEN a.published_at ELSE a.fetched_at END)"
# An article whose keys are stored is read without its text.
_STORY_COLUMNS = (
    f"a.id, a.language, {_STORY_AT} AS at, k.keys,"
    " CASE WHEN k.keys IS NULL THEN a.title ELSE '' END AS title,"
    " CASE WHEN k.keys IS NULL THEN a.summary ELSE '' END AS summary,"
    " (SELECT group_concat(topic, ' ') FROM article_topics WHERE article_id = a.id) AS topic_list"
)
_WITH_KEYS = " LEFT JOIN article_story_keys AS k ON k.article_id = a.id"

# The same on PostgreSQL: its index on the story time is on `dated = 1` (a
# flag is no truth value there), and its topics are listed by slug, the order
# SQLite's group_concat reads them from the primary key in.
_STORY_AT_POSTGRESQL = "(CASE WHEN a.dated = 1 THEN a.published_at ELSE a.fetched_at END)"
_STORY_COLUMNS_POSTGRESQL = (
    f"a.id, a.language, {_STORY_AT_POSTGRESQL} AS at, k.keys,"
    " CASE WHEN k.keys IS NULL THEN a.title ELSE '' END AS title,"
    " CASE WHEN k.keys IS NULL THEN a.summary ELSE '' END AS summary,"
    " (SELECT string_agg(topic, ' ' ORDER BY topic) FROM article_topics"
    " WHERE article_id = a.id) AS topic_list"
)


async def single_texts(db: Database, article_ids: Sequence[int]) -> list[StoryText]:
    """Those of the articles that have no partner, for the matcher."""
    if not article_ids:
        return []
    rows = await db.fetchall(_SINGLE_TEXTS[db.dialect], (_ids(db.dialect, article_ids),))
    return [_story(row) for row in rows]


_SINGLE_TEXTS: dict[Dialect, str] = {
    "sqlite": f"SELECT {_STORY_COLUMNS} FROM json_each(?) AS j JOIN articles AS a ON a.id = j.value"
    f"{_WITH_KEYS} WHERE NOT EXISTS (SELECT 1 FROM translations WHERE article_id = a.id)",
    # In the order of the ids given, as SQLite reads them.
    "postgresql": f"SELECT {_STORY_COLUMNS_POSTGRESQL} FROM {_IDS['postgresql']}"
    f" JOIN articles AS a ON a.id = j.value{_WITH_KEYS}"
    " WHERE NOT EXISTS (SELECT 1 FROM translations WHERE article_id = a.id) ORDER BY j.place",
}


def arriving(article_id: int, article: NewArticle) -> StoryText:
    """What the matcher reads of an article just stored, from what ingest
    stored (its time as `_STORY_AT` has it), without reading it back."""
    return StoryText(
        id=article_id,
        language=article.language,
        at=article.published_at if article.dated else article.fetched_at,
        title="" if article.story_keys is not None else article.title,
        summary="" if article.story_keys is not None else article.summary,
        topics=article.topics,
        keys=article.story_keys,
    )


async def unpaired(db: Database, article_ids: Sequence[int]) -> list[int]:
    """Those of `article_ids` without a partner, in their order."""
    if not article_ids:
        return []
    paired = {
        row[0]
        for row in await db.fetchall(
            f"SELECT t.article_id FROM {_IDS[db.dialect]}"
            " JOIN translations AS t ON t.article_id = j.value",
            (_ids(db.dialect, article_ids),),
        )
    }
    return [article_id for article_id in article_ids if article_id not in paired]


async def single_texts_near(
    db: Database,
    times: Sequence[int],
    *,
    reach: int,
    limit: int = MAX_NEAR,
    besides: Sequence[StoryText] = (),
) -> list[StoryText]:
    """Articles without a partner whose time is within `reach` seconds of any of
    `times` (the spans are merged, so a batch's articles are read once each),
    in the order of their time. `besides`: articles the caller has in hand
    already (an ingest's arrivals), joined to those read instead of read again."""
    spans = _spans(times, reach)
    if not spans:
        return list(besides)
    rows = await db.fetchall(
        _SINGLE_TEXTS_NEAR[db.dialect],
        (json.dumps(spans), _ids(db.dialect, [t.id for t in besides]), limit),
    )
    return sorted([*map(_story, rows), *besides], key=lambda t: (t.at, t.id))


async def single_other_language_near(
    db: Database, language: str, times: Sequence[int], *, reach: int
) -> bool:
    """Whether any article not in `language` and without a partner has its time
    within `reach` seconds of any of `times`: when none has (a one-language
    feed's arrivals), there is nothing to pair them with and nothing to read."""
    spans = _spans(times, reach)
    if not spans:
        return False
    found: int = await db.fetchval(
        _SINGLE_OTHER_LANGUAGE_NEAR[db.dialect], (json.dumps(spans), language)
    )
    return bool(found)


# Spans of time are one JSON list of [from, to] on both engines.
_IN_SPANS: dict[Dialect, str] = {
    "sqlite": "json_each(?) AS span"
    f" JOIN articles AS a ON {_STORY_AT}"
    " BETWEEN json_extract(span.value, '$[0]') AND json_extract(span.value, '$[1]')",
    "postgresql": "jsonb_array_elements(CAST(? AS jsonb)) AS span(value)"
    f" JOIN articles AS a ON {_STORY_AT_POSTGRESQL}"
    " BETWEEN CAST(span.value->>0 AS bigint) AND CAST(span.value->>1 AS bigint)",
}

_SINGLE_TEXTS_NEAR: dict[Dialect, str] = {
    "sqlite": f"SELECT {_STORY_COLUMNS} FROM {_IN_SPANS['sqlite']}"
    f"{_WITH_KEYS}"
    " WHERE NOT EXISTS (SELECT 1 FROM translations WHERE article_id = a.id)"
    " AND a.id NOT IN (SELECT value FROM json_each(?))"
    " LIMIT ?",
    # The first `limit` by time, as SQLite reads them along its index.
    "postgresql": f"SELECT {_STORY_COLUMNS_POSTGRESQL} FROM {_IN_SPANS['postgresql']}"
    f"{_WITH_KEYS}"
    " WHERE NOT EXISTS (SELECT 1 FROM translations WHERE article_id = a.id)"
    " AND a.id <> ALL(CAST(? AS bigint[]))"
    " ORDER BY at, a.id LIMIT ?",
}

_SINGLE_OTHER_LANGUAGE_NEAR: dict[Dialect, str] = {
    dialect: f"SELECT EXISTS (SELECT 1 FROM {spans}"
    " WHERE a.language != ?"
    " AND NOT EXISTS (SELECT 1 FROM translations WHERE article_id = a.id))"
    for dialect, spans in _IN_SPANS.items()
}


def _spans(times: Sequence[int], reach: int) -> list[list[int]]:
    """The times' reach, overlapping spans merged."""
    spans: list[list[int]] = []
    for at in sorted(times):
        if spans and at - reach <= spans[-1][1]:
            spans[-1][1] = at + reach
        else:
            spans.append([at - reach, at + reach])
    return spans


async def vetoes_among(db: Database, article_ids: Sequence[int]) -> set[tuple[int, int]]:
    """The (low, high) pairs among `article_ids` that an admin has parted."""
    if not article_ids:
        return set()
    rows = await db.fetchall(
        f"SELECT v.low_id, v.high_id FROM {_IDS[db.dialect]}"
        " JOIN translation_vetoes AS v ON v.low_id = j.value",
        (_ids(db.dialect, article_ids),),
    )
    return {(row[0], row[1]) for row in rows}


def _story(row: Row) -> StoryText:
    return StoryText(
        id=row["id"],
        language=row["language"],
        at=row["at"],
        title=row["title"],
        summary=row["summary"],
        topics=tuple((row["topic_list"] or "").split()),
        keys=None
        if row["keys"] is None
        else tuple(row["keys"].split(KEY_SEPARATOR))
        if row["keys"]
        else (),
    )
