-- What an article's text offers the translation matcher (names, numbers and
-- dates, cognate stems: bot.ingest.matching), worked out once when the article
-- is stored. Every ingest compares its arrivals with every single article of
-- the days around them; reading these keys instead of re-deriving them from
-- each of those texts on every poll is most of what pairing costs.
-- Keys separated by line breaks; topics are not among them (read from
-- article_topics, which a re-tag may change). An article stored before this
-- table, or while text pairing was off, has no row: its keys come from its text.
-- Beside `articles`, keyed by its id (a rowid table: rows of a few hundred
-- bytes read by id, where WITHOUT ROWID gains nothing), gone with the article.
CREATE TABLE article_story_keys (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    keys       TEXT    NOT NULL
);
