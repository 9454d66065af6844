-- An article and its translation. One row each way, so "the other version of
-- these articles" is one indexed lookup in either direction, and the primary
-- key and the UNIQUE constraint together let an article have one partner at
-- most: the publication writes in two languages, so a chain A-B-C is refused
-- by the schema, whatever the code above it does.
CREATE TABLE translations (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    other_id   INTEGER NOT NULL UNIQUE REFERENCES articles(id) ON DELETE CASCADE,
    how        TEXT    NOT NULL CHECK (how IN ('explicit', 'text', 'manual')),
    score      REAL,                -- the text matcher's evidence; NULL otherwise
    at         INTEGER NOT NULL,
    CHECK (article_id != other_id)
);

-- "These two are not each other's translation": an admin's /unpair. The
-- matcher and the sources' links never pair them again; only /pair does.
CREATE TABLE translation_vetoes (
    low_id  INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    high_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    PRIMARY KEY (low_id, high_id),
    CHECK (low_id < high_id)
) WITHOUT ROWID;

-- What an article says its translation is, kept until that article arrives:
-- whichever of the two is stored second completes the pair. `kind` 'url' is an
-- address (an alternate link, or the article's own URL with its language
-- segment swapped); 'guid' is a listing's `Translation: <ID>` within the
-- article's source.
CREATE TABLE translation_claims (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('url', 'guid')),
    value      TEXT    NOT NULL,
    PRIMARY KEY (article_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX translation_claims_by_value ON translation_claims(kind, value);
