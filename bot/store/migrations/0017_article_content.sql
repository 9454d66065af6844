-- The whole article as sanitised HTML, for reading it inside the chat, when its
-- feed carries more than the summary. Beside `articles`, not on it: a full text
-- is tens of kilobytes, and searches, lists and digests over a large archive
-- read article rows by the thousand without ever needing it. Keyed by the
-- article's id (a rowid table, so one lookup), gone with the article.
-- `truncated` = 1: the source's text was longer than what is kept.
CREATE TABLE article_content (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    html       TEXT    NOT NULL,
    truncated  INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1))
);
