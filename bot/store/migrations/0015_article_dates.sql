-- Which articles carry a real date, and which are a source's back catalogue.
--
-- `dated` = 0: the source gave no date. `published_at` still orders such an
-- article (its fetch time, minus its position in the source so the source's
-- order holds), but it is not shown as a publication date: the bundled sample
-- has no dates, and every article of it read as published the day it was
-- loaded.
--
-- `backfill` = 1: published long before it was fetched (DIGEST_MAX_AGE_DAYS,
-- decided at ingest): a feed's years-old items, added with the feed, are in
-- search and lists but never in a digest as "new".
ALTER TABLE articles ADD COLUMN dated INTEGER NOT NULL DEFAULT 1 CHECK (dated IN (0, 1));
ALTER TABLE articles ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0 CHECK (backfill IN (0, 1));

-- Rows stored before: an undated entry got its batch's fetch time minus its
-- position, so within the n rows of one source fetched at one moment, a time in
-- the n seconds up to the fetch is taken for no date (a real date that close is
-- rare, and costs only the date's display).
UPDATE articles SET dated = 0
WHERE id IN (
    SELECT id FROM (
        SELECT id, published_at, fetched_at,
               count(*) OVER (PARTITION BY source, fetched_at) AS batch
        FROM articles
    )
    WHERE published_at <= fetched_at AND published_at > fetched_at - batch
);

-- The default age limit, 7 days; the setting applies to what is fetched from now on.
UPDATE articles SET backfill = 1 WHERE dated = 1 AND published_at < fetched_at - 7 * 86400;
