-- The outbox: every bulk message (digests, broadcasts, channel posts) is a row
-- here before it is a Telegram request, so a restart resumes from this table.

CREATE TABLE broadcasts (
    id            INTEGER PRIMARY KEY,
    admin_id      INTEGER NOT NULL,
    admin_chat_id INTEGER NOT NULL,
    audience      TEXT    NOT NULL,       -- 'all', 'topic:<slug>', 'lang:<code>'
    payload       TEXT    NOT NULL,       -- JSON request sent to every recipient
    state         TEXT    NOT NULL DEFAULT 'draft'
                          CHECK (state IN ('draft', 'sending', 'done', 'cancelled')),
    progress_message_id INTEGER,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    finished_at   INTEGER
);

-- pending -> sending -> sent | failed | dropped (chat or topic gone) | cancelled,
-- and sending -> pending again for a retry. Only the sender moves rows out of
-- 'sending', except a chat or topic that goes away (dropped).
-- AUTOINCREMENT: ids only grow, so id order is the order messages were queued.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id     INTEGER NOT NULL,
    thread_id   INTEGER NOT NULL DEFAULT 0,   -- forum topic; 0 is the chat itself
    target_id   INTEGER REFERENCES targets(id) ON DELETE SET NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('digest', 'broadcast', 'post', 'notice')),
    priority    INTEGER NOT NULL DEFAULT 10,  -- lower goes first
    method      TEXT    NOT NULL,             -- Bot API method: sendMessage, copyMessage, ...
    payload     TEXT    NOT NULL,             -- JSON parameters, without chat_id
    broadcast_id INTEGER REFERENCES broadcasts(id) ON DELETE CASCADE,
    state       TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'dropped', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL    NOT NULL DEFAULT 0,   -- Unix seconds; retries wait until then
    last_error  TEXT,
    telegram_message_id INTEGER,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER                       -- set with any final state
);
-- Claiming walks pending rows in (priority, id) order ...
CREATE INDEX outbox_queue ON outbox(priority, id) WHERE state = 'pending';
-- ... and checks each chat's queue head; also serves dropping and moving a chat's rows.
CREATE INDEX outbox_chat_queue ON outbox(chat_id, id) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_in_flight ON outbox(id) WHERE state = 'sending';
CREATE INDEX outbox_by_broadcast ON outbox(broadcast_id, state) WHERE broadcast_id IS NOT NULL;
CREATE INDEX outbox_finished ON outbox(finished_at, state) WHERE finished_at IS NOT NULL;

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    admin_id   INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '',
    recipients INTEGER,
    at         INTEGER NOT NULL
);
