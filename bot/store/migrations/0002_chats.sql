-- Chats the bot talks to, the digest targets inside them, and subscriptions.

CREATE TABLE chats (
    chat_id         INTEGER PRIMARY KEY,
    type            TEXT    NOT NULL CHECK (type IN ('private', 'group', 'supergroup', 'channel')),
    title           TEXT,
    username        TEXT,
    is_forum        INTEGER NOT NULL DEFAULT 0,
    active          INTEGER NOT NULL DEFAULT 1,
    inactive_reason TEXT,
    added_by        INTEGER,            -- user who added the bot (groups, channels)
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- A target is where digests go: a chat, or one forum topic (thread) of it.
-- thread_id 0 means the chat itself.
CREATE TABLE targets (
    id                INTEGER PRIMARY KEY,
    chat_id           INTEGER NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    thread_id         INTEGER NOT NULL DEFAULT 0,
    active            INTEGER NOT NULL DEFAULT 1,
    ui_language       TEXT    NOT NULL DEFAULT 'en' CHECK (ui_language IN ('en', 'es')),
    article_language  TEXT             CHECK (article_language IN ('en', 'es')),  -- NULL: any
    digest_mode       TEXT    NOT NULL DEFAULT 'daily'
                              CHECK (digest_mode IN ('off', 'instant', 'daily', 'weekly')),
    digest_minute     INTEGER NOT NULL DEFAULT 480,   -- minutes after local midnight
    digest_weekday    INTEGER NOT NULL DEFAULT 0,     -- 0 = Monday
    timezone          TEXT    NOT NULL DEFAULT 'UTC',
    cursor_article_id INTEGER NOT NULL DEFAULT 0,     -- newest article already digested
    last_digest_at    INTEGER,
    next_digest_at    INTEGER,                        -- UTC; NULL when not scheduled
    created_at        INTEGER NOT NULL,
    UNIQUE (chat_id, thread_id)
);
-- Dispatch reads only the targets that are due: its cost follows them, not all chats.
CREATE INDEX targets_due ON targets(next_digest_at) WHERE next_digest_at IS NOT NULL;

CREATE TABLE subscriptions (
    id         INTEGER PRIMARY KEY,
    target_id  INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('topic', 'query')),
    value      TEXT    NOT NULL,        -- topic slug, or the query as the user wrote it
    created_at INTEGER NOT NULL,
    UNIQUE (target_id, kind, value)
);
CREATE INDEX subscriptions_by_topic ON subscriptions(kind, value);
