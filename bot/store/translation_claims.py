"""What articles say their translation is, and which stored articles that names.

An article's claims are stored with it (`articles.insert`, table
`translation_claims`) and kept: whichever of the two versions arrives second
finds the other here, by one indexed lookup each way. A claim names an address
(`url`, matched against `articles.url`) or an identifier within the claiming
article's own source (`guid`, matched against `articles(source, guid)`); a claim
that names nothing stored yet waits, harmless.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.db import Database, Dialect

_CLAIMED_BY_NEW = """
WITH new(id) AS (SELECT value FROM json_each(:ids))
SELECT c.article_id, target.id
FROM new
JOIN translation_claims AS c ON c.article_id = new.id AND c.kind = 'url'
JOIN articles AS target ON target.url = c.value
UNION ALL
SELECT c.article_id, target.id
FROM new
JOIN articles AS me ON me.id = new.id
JOIN translation_claims AS c ON c.article_id = new.id AND c.kind = 'guid'
JOIN articles AS target ON target.source = me.source AND target.guid = c.value
"""

# A claimer is worth trying when it is in the other language and not paired
# already by anything stronger than the matcher's guess. At most :per_article
# claimers per new article, first come first: a thousand articles naming one
# address cost one index range, not a thousand pairing attempts.
_CLAIMERS = """
SELECT c2.article_id FROM translation_claims AS c2
JOIN articles AS claimer ON claimer.id = c2.article_id
WHERE c2.kind = '{kind}' AND c2.value = {value}{same_source}
  AND claimer.id != n.id AND claimer.language != n.language
  AND NOT EXISTS (
      SELECT 1 FROM translations AS t WHERE t.article_id = claimer.id AND t.how != 'text')
ORDER BY c2.article_id LIMIT :per_article
"""

_CLAIMING_NEW = f"""
WITH new(id) AS (SELECT value FROM json_each(:ids))
SELECT claimer.id, n.id
FROM new
JOIN articles AS n ON n.id = new.id
JOIN articles AS claimer ON n.url IS NOT NULL AND claimer.id IN (
    {_CLAIMERS.format(kind="url", value="n.url", same_source="")})
UNION ALL
SELECT claimer.id, n.id
FROM new
JOIN articles AS n ON n.id = new.id
JOIN articles AS claimer ON n.guid IS NOT NULL AND claimer.id IN (
    {_CLAIMERS.format(kind="guid", value="n.guid", same_source=" AND claimer.source = n.source")})
"""


# The same on PostgreSQL: the new ids from an array, with their places; the
# rows in the order SQLite's plans give them (each part in turn, the new
# articles in the order given, then a claim's value or a claimer's id), as a
# first claim found wins its pair.
_NEW_POSTGRESQL = (
    "WITH new(id, place) AS (SELECT * FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY)"
)

_CLAIMED_BY_NEW_POSTGRESQL = f"""
{_NEW_POSTGRESQL}
SELECT claimer, target FROM (
    SELECT 1 AS part, new.place, c.value, c.article_id AS claimer, target.id AS target
    FROM new
    JOIN translation_claims AS c ON c.article_id = new.id AND c.kind = 'url'
    JOIN articles AS target ON target.url = c.value
    UNION ALL
    SELECT 2, new.place, c.value, c.article_id, target.id
    FROM new
    JOIN articles AS me ON me.id = new.id
    JOIN translation_claims AS c ON c.article_id = new.id AND c.kind = 'guid'
    JOIN articles AS target ON target.source = me.source AND target.guid = c.value
) AS found
ORDER BY part, place, value
"""

_URL_CLAIMERS = _CLAIMERS.format(kind="url", value="n.url", same_source="")
_GUID_CLAIMERS = _CLAIMERS.format(
    kind="guid", value="n.guid", same_source=" AND claimer.source = n.source"
)

_CLAIMING_NEW_POSTGRESQL = f"""
{_NEW_POSTGRESQL}
SELECT claimer, target FROM (
    SELECT 1 AS part, new.place, claimer.id AS claimer, n.id AS target
    FROM new
    JOIN articles AS n ON n.id = new.id
    JOIN articles AS claimer ON n.url IS NOT NULL AND claimer.id IN ({_URL_CLAIMERS})
    UNION ALL
    SELECT 2, new.place, claimer.id, n.id
    FROM new
    JOIN articles AS n ON n.id = new.id
    JOIN articles AS claimer ON n.guid IS NOT NULL AND claimer.id IN ({_GUID_CLAIMERS})
) AS found
ORDER BY part, place, claimer
"""

_STATEMENTS: dict[Dialect, tuple[str, str]] = {
    "sqlite": (_CLAIMED_BY_NEW, _CLAIMING_NEW),
    "postgresql": (_CLAIMED_BY_NEW_POSTGRESQL, _CLAIMING_NEW_POSTGRESQL),
}
"""(the new articles' claims, the claims on the new articles) on each engine."""


async def claimed(
    db: Database, new_ids: Sequence[int], *, per_article: int
) -> list[tuple[int, int]]:
    """(claiming article, claimed article) for the claims that touch `new_ids`
    and name a stored article: the new articles' own claims first (every one
    that names something stored), then older articles' claims on a new article
    (at most `per_article` claimers each, oldest first, only those that could
    still be paired). Self-claims and duplicates are left out."""
    if not new_ids:
        return []
    ids: str | list[int] = "[" + ",".join(str(int(i)) for i in new_ids) + "]"
    if db.dialect == "postgresql":
        ids = [int(i) for i in new_ids]
    claimed_by_new, claiming_new = _STATEMENTS[db.dialect]
    own = await db.fetchall(claimed_by_new, {"ids": ids})
    theirs = await db.fetchall(claiming_new, {"ids": ids, "per_article": per_article})
    found: dict[frozenset[int], tuple[int, int]] = {}
    for row in [*own, *theirs]:
        claimer, target = int(row[0]), int(row[1])
        if claimer != target:
            found.setdefault(frozenset((claimer, target)), (claimer, target))
    return list(found.values())


async def of_article(db: Database, article_id: int) -> list[tuple[str, str]]:
    """An article's stored claims, (kind, value), for the operator's eyes and tests."""
    rows = await db.fetchall(
        "SELECT kind, value FROM translation_claims WHERE article_id = ? ORDER BY kind, value",
        (article_id,),
    )
    return [(row[0], row[1]) for row in rows]
