-- Feeds, articles, topics and the full-text index.
-- Timestamps are integer Unix seconds (UTC): cheap to compare and index.

CREATE TABLE feeds (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL UNIQUE,
    title           TEXT,
    language        TEXT,               -- declared by the feed, overrides detection
    poll_minutes    INTEGER,            -- per-feed override of FEED_POLL_MINUTES
    etag            TEXT,
    last_modified   TEXT,
    added_at        INTEGER NOT NULL,
    removed_at      INTEGER,            -- polling stopped; its articles stay
    last_polled_at  INTEGER,
    last_ok_at      INTEGER,
    last_new_at     INTEGER,
    next_poll_at    INTEGER NOT NULL DEFAULT 0,
    failure_count   INTEGER NOT NULL DEFAULT 0,
    failing_since   INTEGER,
    failure_reported INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);

-- AUTOINCREMENT: ids only ever grow, so "articles since id N" is a digest cursor.
CREATE TABLE articles (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_id       INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
    source        TEXT    NOT NULL,     -- feed URL or listing file it came from
    guid          TEXT,
    url           TEXT,
    title         TEXT    NOT NULL,
    summary       TEXT    NOT NULL DEFAULT '',
    language      TEXT    NOT NULL,
    published_at  INTEGER NOT NULL,
    fetched_at    INTEGER NOT NULL,
    content_hash  TEXT    NOT NULL
);
CREATE UNIQUE INDEX articles_by_guid ON articles(source, guid) WHERE guid IS NOT NULL;
CREATE UNIQUE INDEX articles_by_url ON articles(url) WHERE url IS NOT NULL;
CREATE UNIQUE INDEX articles_by_content ON articles(content_hash);
CREATE INDEX articles_by_published ON articles(published_at DESC, id DESC);
CREATE INDEX articles_by_language ON articles(language, published_at DESC, id DESC);

CREATE TABLE topics (
    slug     TEXT PRIMARY KEY,
    name_en  TEXT NOT NULL,
    name_es  TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE article_topics (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    topic      TEXT    NOT NULL REFERENCES topics(slug) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (article_id, topic)
) WITHOUT ROWID;
CREATE INDEX article_topics_by_topic ON article_topics(topic, article_id DESC);

-- Contentless: the text lives in `articles`; the index holds each word stemmed
-- as English and as Spanish in parallel columns, so a query term can match
-- either stem while phrase positions stay aligned within a column.
CREATE VIRTUAL TABLE article_search USING fts5(
    title_en, title_es, summary_en, summary_es,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);
