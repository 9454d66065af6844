-- Paid broadcasts: an admin may send a broadcast with allow_paid_broadcast, up
-- to 1,000 messages a second for 0.1 Telegram Star each. The choice is kept on
-- the broadcast (its copies also wait in a priority band of their own, see
-- bot/store/outbox.py), so a restart resumes it paid, and its report can show
-- what it cost.
ALTER TABLE broadcasts ADD COLUMN paid INTEGER NOT NULL DEFAULT 0 CHECK (paid IN (0, 1));

-- How long Telegram held the broadcast back with 429s ("retry after N"), for the
-- summary: overlapping pauses count once, so `paused_until` is the end of the
-- latest one.
ALTER TABLE broadcasts ADD COLUMN paused_seconds REAL NOT NULL DEFAULT 0;
ALTER TABLE broadcasts ADD COLUMN paused_until REAL;
