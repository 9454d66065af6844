-- Messages a bot that does not lead sends through the one that does
-- (bot/delivery/relay.py): Telegram's limits hold for the bot as a whole, so
-- every message goes through the leader's one rate limiter. A row is one
-- request and, once the leader has made it, Telegram's answer; the bot that
-- asked takes the answer and deletes the row. SQLite has one bot per file,
-- which always leads: the table stays empty there, and exists so that both
-- engines keep one schema at one version.
--
-- pending -> sending -> answered (taken: deleted), and pending -> abandoned
-- when the asking bot stopped waiting first. A row left 'sending' by a leader
-- that died is pending again when the next one starts.
CREATE TABLE relay (
    id          INTEGER PRIMARY KEY,
    method      TEXT    NOT NULL,          -- Bot API method: sendMessage, copyMessage, ...
    params      TEXT    NOT NULL,          -- the request's parameters, a JSON object
    kind        TEXT    NOT NULL,          -- what the message is, for the leader's metrics
    reply_to    TEXT    NOT NULL,          -- the notice channel the asking bot listens on
    state       TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'answered', 'abandoned')),
    answer      TEXT,                      -- {"result": ...} or {"error": {...}}, JSON
    created_at  REAL    NOT NULL,          -- Unix seconds
    expires_at  REAL    NOT NULL,          -- the asking bot waits until then: never sent later
    claimed_at  REAL,
    finished_at REAL
);
-- The leader claims pending rows in the order they came.
CREATE INDEX relay_pending ON relay(id) WHERE state = 'pending';
