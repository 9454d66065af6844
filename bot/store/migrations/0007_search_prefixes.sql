-- The full-text index, rebuilt with two additions, both to bound the cost of
-- one search on a large archive.
--
-- prefix = '3 4 5 6': FTS5 answers `migra*` by merging the whole list of every
-- indexed word that starts with "migra" unless it keeps that prefix's list
-- ready; it only uses a ready list of exactly the typed length. Measured on
-- 200,000 articles, two frequent prefixes of 4 to 6 letters cost 130-230 ms
-- without these lists and 5-15 ms with them (the index grows about 3x, which is
-- the price). Queries need at least 3 letters before `*` (bot/search/query.py).
--
-- language: each article's language as the token `_en` or `_es` (underscore is
-- a token character here, and query words never contain one, so no search word
-- can match it). `lang:es` becomes part of the MATCH instead of a lookup of
-- every matching article: "neoliberalism lang:es" went from 170 ms to 11 ms.
--
-- The index is contentless, so its words cannot be read back here: the table
-- is recreated empty and `search_reindex` says which articles still need their
-- words; start-up (bot/search/reindex.py) stems them again in batches, each
-- batch committed with the progress, so an interrupted rebuild resumes.

DROP TABLE article_search;

CREATE VIRTUAL TABLE article_search USING fts5(
    title_en, title_es, summary_en, summary_es, language,
    content = '',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_'",
    prefix = '3 4 5 6'
);

CREATE TABLE search_reindex (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    done_id  INTEGER NOT NULL,   -- articles with id <= done_id are in the index again
    upto_id  INTEGER NOT NULL    -- the newest article when the index was recreated
);

-- Later articles are indexed as they are stored, so only ids up to today's need it.
INSERT INTO search_reindex (id, done_id, upto_id)
SELECT 1, 0, max(id) FROM articles HAVING count(*) > 0;
