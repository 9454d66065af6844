"""Articles and their full-text index.

The index holds each article's words stemmed as English and as Spanish (see
`bot.text`) under the article's id, and is written in the same transaction as
the article, so the two never disagree. On SQLite it is a contentless FTS5
table whose fifth column holds the article's language as one token (`_en`), so
a language filter is part of the MATCH; on PostgreSQL an ordinary table whose
generated tsvector weighs each column apart, the language beside it
(migration 0024). A search's words come as a `fulltext.TextMatch`, written
here in the engine's own syntax; both engines find the same articles, in the
same order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from bot.store.db import Database, Row
from bot.store.fulltext import TextMatch, fts5, fts5_in_title, tsquery, tsquery_titles
from bot.store.translations import KEY_SEPARATOR

# Ranking looks at the newest matches only: the cost stays bounded on a large
# archive (no bm25, whose IDF pass reads every match of a common word), and
# among them articles with a query word in the title come first, newest first.
SEARCH_WINDOW = 2_000


@dataclass(frozen=True)
class Image:
    """An article's lead image: a URL Telegram fetches, and its size in pixels
    when the source gives it."""

    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class FullContent:
    """The whole article as sanitised HTML, kept apart from the article's row."""

    html: str
    truncated: bool = False
    """The source's text was longer than what is kept."""


ClaimKind = Literal["url", "guid"]
Claim = tuple[ClaimKind, str]
"""Where an article's translation is: its address (`url`), or its identifier
within the same source (`guid`)."""


@dataclass(frozen=True)
class NewArticle:
    """An article ready to store: text, metadata and its index columns."""

    source: str
    guid: str | None
    url: str | None
    title: str
    summary: str
    language: str
    published_at: int
    fetched_at: int
    content_hash: str
    title_en: str
    title_es: str
    summary_en: str
    summary_es: str
    topics: tuple[str, ...]
    feed_id: int | None = None
    dated: bool = True
    """False when the source gave no date: `published_at` is then the fetch time
    (minus the entry's position), good for ordering, not to be shown as a date."""
    backfill: bool = False
    """Published long before it was fetched (a feed's back catalogue): kept out of digests."""
    image: Image | None = None
    content: FullContent | None = None
    claims: tuple[Claim, ...] = ()
    """What the source says this article's translation is, kept until that
    article arrives (`translation_claims`, bot.ingest.alternates)."""
    story_keys: tuple[str, ...] | None = None
    """What its text offers the translation matcher (bot.ingest.matching), kept
    so that later arrivals compare with it without reading and re-deriving it;
    None when ingest pairs nothing from the text."""
    categories: tuple[str, ...] = ()
    """The source's categories, kept for re-tagging (migration 0023)."""


@dataclass(frozen=True)
class Translation:
    """The other version of a paired story, as a reader is offered it: its title
    names it, its URL opens it."""

    id: int
    language: str
    title: str
    url: str | None


@dataclass(frozen=True)
class Article:
    id: int
    feed_id: int | None
    url: str | None
    title: str
    summary: str
    language: str
    published_at: int
    topics: tuple[str, ...] = ()
    dated: bool = True
    """Whether `published_at` is a real publication date; without one it is the
    fetch time, which orders the article but is never shown as its date."""
    image: Image | None = None
    translation: Translation | None = None
    """The story's version in the other language, when it is paired and the
    reader is shown this one (`bot.search.versions` sets it)."""


ARTICLE_COLUMNS = (
    "a.id, a.feed_id, a.url, a.title, a.summary, a.language, a.published_at, a.dated,"
    " a.image_url, a.image_width, a.image_height"
)


def _article(row: Row, topics: dict[int, tuple[str, ...]]) -> Article:
    return Article(
        id=row["id"],
        feed_id=row["feed_id"],
        url=row["url"],
        title=row["title"],
        summary=row["summary"],
        language=row["language"],
        published_at=row["published_at"],
        topics=topics.get(row["id"], ()),
        dated=bool(row["dated"]),
        image=None
        if row["image_url"] is None
        else Image(row["image_url"], row["image_width"], row["image_height"]),
    )


_INSERT_COLUMNS = (
    "feed_id, source, guid, url, title, summary, language, published_at, fetched_at,"
    " content_hash, dated, backfill, image_url, image_width, image_height, categories"
)
_COLUMNS = _INSERT_COLUMNS.count(",") + 1
_ROWS_PER_STATEMENT = 500  # 16 parameters a row, well under SQLite's variable limit
CATEGORY_SEPARATOR: Final = "\n"
"""Between an article's stored categories (ingest makes each one line)."""


async def insert(db: Database, articles: Sequence[NewArticle]) -> list[int]:
    """Store the articles not stored yet (same guid, url or content); their new ids."""
    return [article_id for article_id, _ in await insert_with_ids(db, articles)]


async def insert_with_ids(
    db: Database, articles: Sequence[NewArticle]
) -> list[tuple[int, NewArticle]]:
    """Store the articles not stored yet, as `insert`; those stored, each with its
    new id, so ingest can go on with them without reading them back.

    A few statements per 500 articles rather than per article: on a large feed
    the round trips to the database thread, not SQLite, were the cost."""
    new: list[tuple[int, NewArticle]] = []
    postgresql = db.dialect == "postgresql"
    async with db.transaction() as tx:
        if postgresql and articles:
            await tx.execute("SELECT pg_advisory_xact_lock(?)", (ARTICLE_IDS_LOCK,))
        for start in range(0, len(articles), _ROWS_PER_STATEMENT):
            chunk = articles[start : start + _ROWS_PER_STATEMENT]
            placeholders = ", ".join([f"({', '.join('?' * _COLUMNS)})"] * len(chunk))
            cursor = await tx.execute(
                f"INSERT INTO articles ({_INSERT_COLUMNS}) VALUES {placeholders}"
                " ON CONFLICT DO NOTHING RETURNING id, content_hash, guid, url",
                [value for article in chunk for value in _values(article)],
            )
            inserted = {(row[1], row[2], row[3]): row[0] for row in await cursor.fetchall()}
            # The row SQLite kept is matched by its text, guid and address: one
            # text twice in a chunk (a feed repeating an article under a second
            # guid) is stored once, and only the entry stored has rows written.
            stored = [
                (article_id, a)
                for a in chunk
                if (article_id := inserted.pop((a.content_hash, a.guid, a.url), None)) is not None
            ]
            stored.sort(key=lambda pair: pair[0])
            await tx.executemany(
                INDEX_SQL,
                [
                    (i, a.title_en, a.title_es, a.summary_en, a.summary_es, a.language)
                    for i, a in stored
                ],
            )
            await tx.executemany(
                _INSERT_TOPICS_POSTGRESQL if postgresql else _INSERT_TOPICS,
                [(i, slug) for i, a in stored for slug in a.topics],
            )
            await tx.executemany(
                "INSERT INTO article_content (article_id, html, truncated) VALUES (?, ?, ?)",
                [(i, a.content.html, a.content.truncated) for i, a in stored if a.content],
            )
            await tx.executemany(
                _INSERT_CLAIMS_POSTGRESQL if postgresql else _INSERT_CLAIMS,
                [(i, kind, value) for i, a in stored for kind, value in a.claims],
            )
            await tx.executemany(
                "INSERT INTO article_story_keys (article_id, keys) VALUES (?, ?)",
                [
                    (i, KEY_SEPARATOR.join(a.story_keys))
                    for i, a in stored
                    if a.story_keys is not None
                ],
            )
            new += stored
    return new


ARTICLE_IDS_LOCK: Final = 0x6172_7469_636C  # "articl"
"""The PostgreSQL advisory lock a transaction storing articles holds to its end.

Ids are taken at insert and seen at commit: two processes storing articles at
once could commit out of id order, and a digest cursor already past the later
id would never see the earlier one. SQLite has one writer; here the lock makes
article inserts one transaction at a time."""

_INSERT_TOPICS = (
    "INSERT OR IGNORE INTO article_topics (article_id, topic)"
    " SELECT ?, slug FROM topics WHERE slug = ?"
)
_INSERT_TOPICS_POSTGRESQL = (
    "INSERT INTO article_topics (article_id, topic)"
    " SELECT ?, slug FROM topics WHERE slug = ? ON CONFLICT DO NOTHING"
)
_INSERT_CLAIMS = (
    "INSERT OR IGNORE INTO translation_claims (article_id, kind, value) VALUES (?, ?, ?)"
)
_INSERT_CLAIMS_POSTGRESQL = (
    "INSERT INTO translation_claims (article_id, kind, value) VALUES (?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)


INDEX_SQL = (
    "INSERT INTO article_search (rowid, title_en, title_es, summary_en, summary_es, language)"
    " VALUES (?, ?, ?, ?, ?, '_' || ?)"
)
"""One article's index row; its language as the token `_en`/`_es`, which no query
word can be (query words never contain `_`, a token character of this index)."""


def language_filter(match: str, language: str | None) -> str:
    """`match` narrowed to articles in `language`, inside FTS5."""
    if language is None:
        return match
    return f'({match}) AND {{language}} : "{language_token(language)}"'


def language_token(language: str) -> str:
    """The index's language column for articles in `language` (`_en`), as INDEX_SQL writes it."""
    if not (language.isascii() and language.isalnum()):
        raise ValueError(f"not a language code: {language!r}")
    return f"_{language}"


def _values(article: NewArticle) -> tuple[object, ...]:
    return (
        article.feed_id,
        article.source,
        article.guid,
        article.url,
        article.title,
        article.summary,
        article.language,
        article.published_at,
        article.fetched_at,
        article.content_hash,
        article.dated,
        article.backfill,
        article.image.url if article.image else None,
        article.image.width if article.image else None,
        article.image.height if article.image else None,
        CATEGORY_SEPARATOR.join(article.categories),
    )


async def full_content(db: Database, article_id: int) -> FullContent | None:
    """An article's whole text, when its source carried more than the summary."""
    row = await db.fetchone(
        "SELECT html, truncated FROM article_content WHERE article_id = ?", (article_id,)
    )
    return None if row is None else FullContent(html=row[0], truncated=bool(row[1]))


async def with_full_content(db: Database, article_ids: Sequence[int]) -> set[int]:
    """Which of the articles have a whole text to read: one probe of
    `article_content`'s key each, none of the texts read."""
    if not article_ids:
        return set()
    if db.dialect == "postgresql":
        rows = await db.fetchall(
            "SELECT article_id FROM article_content WHERE article_id = ANY(?)",
            (_id_list(article_ids),),
        )
    else:
        rows = await db.fetchall(
            "SELECT c.article_id FROM json_each(?) AS wanted"
            " JOIN article_content AS c ON c.article_id = wanted.value",
            (_json_ids(article_ids),),
        )
    return {int(row[0]) for row in rows}


_TOPICS_OF = """
        SELECT at.article_id, at.topic FROM article_topics AS at
        JOIN topics AS t ON t.slug = at.topic
        WHERE at.article_id IN (SELECT value FROM json_each(?))
        ORDER BY t.position
        """
_TOPICS_OF_POSTGRESQL = """
        SELECT at.article_id, at.topic FROM article_topics AS at
        JOIN topics AS t ON t.slug = at.topic
        WHERE at.article_id = ANY(?)
        ORDER BY t.position
        """


async def topics_of(db: Database, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    if not article_ids:
        return {}
    if db.dialect == "postgresql":
        rows = await db.fetchall(_TOPICS_OF_POSTGRESQL, (_id_list(article_ids),))
    else:
        rows = await db.fetchall(_TOPICS_OF, (_json_ids(article_ids),))
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(row[1])
    return {article_id: tuple(slugs) for article_id, slugs in found.items()}


async def _with_topics(db: Database, rows: list[Row]) -> list[Article]:
    topics = await topics_of(db, [row["id"] for row in rows])
    return [_article(row, topics) for row in rows]


async def get_many(db: Database, article_ids: Sequence[int]) -> list[Article]:
    """Articles by id, in the order asked."""
    if db.dialect == "postgresql":
        rows = await db.fetchall(
            f"SELECT {ARTICLE_COLUMNS} FROM articles AS a"
            " JOIN unnest(CAST(? AS bigint[])) WITH ORDINALITY AS wanted(value, key)"
            " ON wanted.value = a.id ORDER BY wanted.key",
            (_id_list(article_ids),),
        )
    else:
        rows = await db.fetchall(
            f"SELECT {ARTICLE_COLUMNS} FROM articles AS a"
            " JOIN json_each(?) AS wanted ON wanted.value = a.id ORDER BY wanted.key",
            (_json_ids(article_ids),),
        )
    return await _with_topics(db, rows)


_EARLIER_VERSIONS = f"""
        SELECT {ARTICLE_COLUMNS}, a.backfill,
               (SELECT json_group_array(topic) FROM (
                    SELECT at.topic FROM article_topics AS at
                    JOIN topics AS t ON t.slug = at.topic
                    WHERE at.article_id = a.id ORDER BY t.position)) AS topics
        FROM articles AS a WHERE a.id IN (SELECT value FROM json_each(?)) ORDER BY a.id
        """
_EARLIER_VERSIONS_POSTGRESQL = f"""
        SELECT {ARTICLE_COLUMNS}, a.backfill,
               (SELECT CAST(coalesce(json_agg(at.topic ORDER BY t.position), '[]') AS text)
                FROM article_topics AS at JOIN topics AS t ON t.slug = at.topic
                WHERE at.article_id = a.id) AS topics
        FROM articles AS a WHERE a.id = ANY(?) ORDER BY a.id
        """


async def earlier_versions(
    db: Database, article_ids: Sequence[int]
) -> tuple[list[Article], frozenset[int]]:
    """Articles by id, in id order, with their topics, and which of them are a
    feed's back catalogue (never in any digest), in one query: the earlier
    versions of a digest run's new articles, which the run's window does not
    hold (`bot.search.versions.Versions`)."""
    if not article_ids:
        return [], frozenset()
    if db.dialect == "postgresql":
        rows = await db.fetchall(_EARLIER_VERSIONS_POSTGRESQL, (_id_list(article_ids),))
    else:
        rows = await db.fetchall(_EARLIER_VERSIONS, (_json_ids(article_ids),))
    found = [_article(row, {row["id"]: tuple(json.loads(row["topics"]))}) for row in rows]
    return found, frozenset(row["id"] for row in rows if row["backfill"])


async def search(
    db: Database,
    match: TextMatch | None,
    *,
    topics: Sequence[str] = (),
    language: str | None = None,
    limit: int = 5,
    offset: int = 0,
    budget: float | None = None,
    prefer: str | None = None,
) -> list[Article]:
    """Articles matching a search's words (from `bot.search`), best first: those
    with a query word in their title, then the others, newest first each, among
    the newest SEARCH_WINDOW matches. With no words, the filters alone select
    the newest articles. With a `budget` (seconds), OverBudget once it is spent.
    With `prefer` (a language), a paired story both of whose versions match is
    one result, its version in that language (see `ONE_PER_STORY`), so pages
    stay full and offsets count stories.
    """
    if language is not None:
        prefer = None  # every match is in `language`, and no partner is
    if match is None:
        return await latest(
            db,
            topics=topics,
            language=language,
            limit=limit,
            offset=offset,
            budget=budget,
            prefer=prefer,
        )
    wanted = list(dict.fromkeys(topics))
    params: dict[str, object] = {
        "window": SEARCH_WINDOW,
        "limit": limit,
        "offset": offset,
        "prefer": prefer,
        **{f"topic{i}": slug for i, slug in enumerate(wanted)},
    }
    if db.dialect == "postgresql":
        sql = _search_postgresql(len(wanted))
        params["match"] = tsquery(match)
        params["in_title"] = tsquery_titles(match)
        params["language"] = None if language is None else language_token(language)
    else:
        sql = _search_in_topics(len(wanted)) if wanted else SEARCH
        params["match"] = language_filter(fts5(match), language)
        params["in_title"] = fts5_in_title(match)
    rows = await db.fetchall(sql, params, budget=budget)
    return [_article_with_topics(row) for row in rows]


_RANKED = f"""
floor AS (SELECT min(id) AS low FROM hits),
titled AS (
    SELECT rowid AS id FROM article_search
    WHERE article_search MATCH :in_title AND rowid >= (SELECT low FROM floor)
),
ranked AS (
    SELECT hits.id, hits.id IN (SELECT id FROM titled) AS in_title FROM hits
    WHERE :prefer IS NULL OR NOT EXISTS (
        SELECT 1 FROM translations AS t JOIN articles AS o ON o.id = t.other_id
        WHERE t.article_id = hits.id AND o.language = :prefer
          AND t.other_id IN (SELECT id FROM hits))
    ORDER BY in_title DESC, hits.id DESC
    LIMIT :limit OFFSET :offset
)
SELECT {ARTICLE_COLUMNS},
       (SELECT group_concat(topic, ' ') FROM (
            SELECT at.topic FROM article_topics AS at JOIN topics AS t ON t.slug = at.topic
            WHERE at.article_id = a.id ORDER BY t.position)) AS topic_list
FROM ranked JOIN articles AS a ON a.id = ranked.id
ORDER BY ranked.in_title DESC, ranked.id DESC
"""

SEARCH = (
    """
WITH hits AS (
    SELECT rowid AS id FROM article_search WHERE article_search MATCH :match
    ORDER BY rowid DESC LIMIT :window
),"""
    + _RANKED
)


def _search_in_topics(count: int) -> str:
    """SEARCH narrowed to articles in each of `count` topics (`:topic0` …).

    One EXISTS per topic, each a primary-key probe: twice as fast per match as
    testing a JSON list of topics, which matters when a frequent word meets a
    small topic and most matches are walked."""
    return (
        f"""
WITH hits AS (
    SELECT article_search.rowid AS id
    FROM article_search
    WHERE article_search MATCH :match{_topic_tests(count)}
    ORDER BY article_search.rowid DESC
    LIMIT :window
),"""
        + _RANKED
    )


def _topic_tests(count: int) -> str:
    return "".join(
        f"""
      AND EXISTS (SELECT 1 FROM article_topics AS at
                  WHERE at.article_id = article_search.rowid AND at.topic = :topic{i})"""
        for i in range(count)
    )


def _search_postgresql(count: int) -> str:
    """SEARCH (narrowed to `count` topics as `_search_in_topics`) on PostgreSQL:
    `:match` and `:in_title` are `to_tsquery` texts (`fulltext.tsquery`,
    `fulltext.tsquery_titles`), the language a test of its column, and whether a
    match has a query word in its title is read from the document each match
    brings, where FTS5 needs a second MATCH."""
    return f"""
WITH hits AS (
    SELECT article_search.rowid AS id,
           article_search.document @@ to_tsquery('simple', :in_title) AS in_title
    FROM article_search
    WHERE article_search.document @@ to_tsquery('simple', :match)
      AND (:language IS NULL OR article_search.language = :language){_topic_tests(count)}
    ORDER BY article_search.rowid DESC
    LIMIT :window
),
ranked AS (
    SELECT hits.id, hits.in_title FROM hits
    WHERE :prefer IS NULL OR NOT EXISTS (
        SELECT 1 FROM translations AS t JOIN articles AS o ON o.id = t.other_id
        WHERE t.article_id = hits.id AND o.language = :prefer
          AND t.other_id IN (SELECT id FROM hits))
    ORDER BY hits.in_title DESC, hits.id DESC
    LIMIT :limit OFFSET :offset
)
SELECT {ARTICLE_COLUMNS},
       (SELECT string_agg(at.topic, ' ' ORDER BY t.position)
        FROM article_topics AS at JOIN topics AS t ON t.slug = at.topic
        WHERE at.article_id = a.id) AS topic_list
FROM ranked JOIN articles AS a ON a.id = ranked.id
ORDER BY ranked.in_title DESC, ranked.id DESC
"""


def _article_with_topics(row: Row) -> Article:
    slugs = tuple((row["topic_list"] or "").split())
    return _article(row, {row["id"]: slugs})


# ONE_PER_STORY: One rule for lists that page with offsets (search, /latest, a topic's view):
# an article is left out when its translation is in the preferred language and
# would be listed too (it matches the same search, or carries the same topics).
# The story is then listed once, as that translation, and an offset counts
# stories. An article whose preferred-language partner would not be listed stays
# (`bot.search.versions` shows the partner in its place). Pairs are across the two
# languages, so a partner in the preferred language means the article is not in
# it. Each listed row costs one probe of `translations`' key: nothing that grows
# with the pairs stored, and next to nothing in an archive without any.


_LATEST_IN_TOPICS = f"""
            SELECT {ARTICLE_COLUMNS} FROM article_topics AS at
            JOIN articles AS a ON a.id = at.article_id
            WHERE at.topic = :first
              AND (:language IS NULL OR a.language = :language)
              AND (SELECT count(*) FROM json_each(:topics) AS wanted
                   WHERE NOT EXISTS (SELECT 1 FROM article_topics AS other
                                     WHERE other.article_id = a.id
                                       AND other.topic = wanted.value)) = 0
              AND (:prefer IS NULL OR NOT EXISTS (
                   SELECT 1 FROM translations AS t JOIN articles AS o ON o.id = t.other_id
                   WHERE t.article_id = a.id AND o.language = :prefer
                     AND (SELECT count(*) FROM json_each(:all_topics) AS wanted
                          WHERE NOT EXISTS (SELECT 1 FROM article_topics AS other
                                            WHERE other.article_id = o.id
                                              AND other.topic = wanted.value)) = 0))
            ORDER BY a.published_at DESC, a.id DESC
            LIMIT :limit OFFSET :offset
            """
_LATEST_IN_TOPICS_POSTGRESQL = f"""
            SELECT {ARTICLE_COLUMNS} FROM article_topics AS at
            JOIN articles AS a ON a.id = at.article_id
            WHERE at.topic = :first
              AND (:language IS NULL OR a.language = :language)
              AND (SELECT count(*) FROM json_array_elements_text(CAST(:topics AS json))
                   AS wanted(value)
                   WHERE NOT EXISTS (SELECT 1 FROM article_topics AS other
                                     WHERE other.article_id = a.id
                                       AND other.topic = wanted.value)) = 0
              AND (:prefer IS NULL OR NOT EXISTS (
                   SELECT 1 FROM translations AS t JOIN articles AS o ON o.id = t.other_id
                   WHERE t.article_id = a.id AND o.language = :prefer
                     AND (SELECT count(*) FROM json_array_elements_text(CAST(:all_topics AS json))
                          AS wanted(value)
                          WHERE NOT EXISTS (SELECT 1 FROM article_topics AS other
                                            WHERE other.article_id = o.id
                                              AND other.topic = wanted.value)) = 0))
            ORDER BY a.published_at DESC, a.id DESC
            LIMIT :limit OFFSET :offset
            """


async def latest(
    db: Database,
    *,
    topics: Sequence[str] = (),
    language: str | None = None,
    limit: int = 5,
    offset: int = 0,
    budget: float | None = None,
    prefer: str | None = None,
) -> list[Article]:
    """The newest articles, optionally in all the given topics and one language;
    with `prefer`, a paired story once (`ONE_PER_STORY`)."""
    if language is not None:
        prefer = None  # every article listed is in `language`, and no partner is
    if topics:
        rows = await db.fetchall(
            _LATEST_IN_TOPICS_POSTGRESQL if db.dialect == "postgresql" else _LATEST_IN_TOPICS,
            {
                "first": topics[0],
                "topics": _json_strings(topics[1:]),
                "all_topics": _json_strings(topics),
                "language": language,
                "limit": limit,
                "offset": offset,
                "prefer": prefer,
            },
            budget=budget,
        )
    else:
        rows = await db.fetchall(
            f"""
            SELECT {ARTICLE_COLUMNS} FROM articles AS a
            WHERE (:language IS NULL OR a.language = :language)
              AND (:prefer IS NULL OR NOT EXISTS (
                   SELECT 1 FROM translations AS t JOIN articles AS o ON o.id = t.other_id
                   WHERE t.article_id = a.id AND o.language = :prefer))
            ORDER BY a.published_at DESC, a.id DESC
            LIMIT :limit OFFSET :offset
            """,
            {"language": language, "limit": limit, "offset": offset, "prefer": prefer},
            budget=budget,
        )
    return await _with_topics(db, rows)


async def between(db: Database, after_id: int, upto_id: int) -> list[Article]:
    """Articles with after_id < id <= upto_id, in id order: what a digest cursor
    has not seen. A feed's back catalogue (`NewArticle.backfill`) is not news and
    is left out, so no digest of any kind holds it."""
    rows = await db.fetchall(
        f"SELECT {ARTICLE_COLUMNS} FROM articles AS a"
        + (
            " WHERE a.id > ? AND a.id <= ? AND a.backfill = 0 ORDER BY a.id"
            if db.dialect == "postgresql"
            else " WHERE a.id > ? AND a.id <= ? AND NOT a.backfill ORDER BY a.id"
        ),
        (after_id, upto_id),
    )
    tags = await db.fetchall(
        """
        SELECT at.article_id, at.topic FROM article_topics AS at
        JOIN topics AS t ON t.slug = at.topic
        WHERE at.article_id > ? AND at.article_id <= ?
        ORDER BY at.article_id, t.position
        """,
        (after_id, upto_id),
    )
    topics: dict[int, list[str]] = {}
    for article_id, slug in tags:
        topics.setdefault(article_id, []).append(slug)
    return [_article(row, {row["id"]: tuple(topics.get(row["id"], ()))}) for row in rows]


Indexer = Callable[[str, str], tuple[str, str, str, str]]
"""(title, summary) → the index's title_en, title_es, summary_en, summary_es columns."""


async def reindex_state(db: Database) -> tuple[int, int] | None:
    """(done_id, upto_id) while stored articles wait to be put back in the index."""
    row = await db.fetchone("SELECT done_id, upto_id FROM search_reindex")
    return None if row is None else (int(row[0]), int(row[1]))


async def reindex_batch(db: Database, indexer: Indexer, *, limit: int) -> tuple[int, int] | None:
    """Put the next `limit` waiting articles back in the index, in one transaction
    with the progress, so two processes never index an article twice and an
    interrupted rebuild resumes. The progress after it, None once all are back."""
    async with db.transaction() as tx:
        # FOR UPDATE on PostgreSQL: a second process waits here and reads the
        # progress this one leaves, as SQLite's one writer makes it.
        cursor = await tx.execute(
            "SELECT done_id, upto_id FROM search_reindex"
            + (" FOR UPDATE" if db.dialect == "postgresql" else "")
        )
        state = await cursor.fetchone()
        if state is None:
            return None
        done_id, upto_id = int(state[0]), int(state[1])
        cursor = await tx.execute(
            "SELECT id, title, summary, language FROM articles"
            " WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
            (done_id, upto_id, limit),
        )
        rows = list(await cursor.fetchall())
        await tx.executemany(
            INDEX_SQL,
            [(row[0], *indexer(row[1], row[2]), row[3]) for row in rows],
        )
        if len(rows) < limit or rows[-1][0] >= upto_id:
            await tx.execute("DELETE FROM search_reindex")
            return None
        await tx.execute("UPDATE search_reindex SET done_id = ?", (rows[-1][0],))
        return int(rows[-1][0]), upto_id


async def count(db: Database) -> int:
    return int(await db.fetchval("SELECT count(*) FROM articles"))


async def any_stored(db: Database) -> bool:
    """Whether there is an article at all: a page or two, where `count` reads a whole
    index (tens of MB on a large archive, and a full page cache kept afterwards)."""
    return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM articles)"))


async def newest_id(db: Database) -> int:
    return int(await db.fetchval("SELECT coalesce(max(id), 0) FROM articles"))


async def per_day(db: Database, *, since: int) -> list[tuple[str, int]]:
    """Articles fetched per UTC day since a time (for statistics)."""
    day = (
        "to_char(to_timestamp(fetched_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        if db.dialect == "postgresql"
        else "date(fetched_at, 'unixepoch')"
    )
    rows = await db.fetchall(
        f"SELECT {day} AS day, count(*) FROM articles"
        " WHERE fetched_at >= ? GROUP BY day ORDER BY day",
        (since,),
    )
    return [(row[0], row[1]) for row in rows]


def _json_ids(ids: Sequence[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def _id_list(ids: Sequence[int]) -> list[int]:
    """Ids as a PostgreSQL array parameter (`= ANY(?)`, `unnest(?)`)."""
    return [int(i) for i in ids]


def _json_strings(values: Sequence[str]) -> str:
    return json.dumps(list(values))
