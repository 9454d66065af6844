-- When an article's story happened, as the translation matcher compares it: the
-- publication date, or for an undated article the time it was fetched (its
-- `published_at` is then the fetch time minus its position in the source, which
-- for a large undated listing would spread one moment over a day or more).
-- The matcher reads the articles within days of each new one; without this
-- index every ingest would scan the whole archive to find them.
CREATE INDEX articles_by_story_time
    ON articles ((CASE WHEN dated THEN published_at ELSE fetched_at END));
