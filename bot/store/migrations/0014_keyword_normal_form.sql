-- Keyword subscriptions are stored in one normal form: the words folded (case,
-- accents), in sorted order outside a phrase, stop words and repeats dropped,
-- topics by slug (bot/search/query.py `normal_form`). Before, the text was kept
-- as typed, so "Ciudad Juárez" and "ciudad juarez" were two subscriptions of
-- one search, listed twice in a digest, and /unsubscribe found only the exact
-- spelling. SQL cannot fold and parse as the bot does, so this lists every
-- keyword subscription and start-up (bot/search/keywords.py) rewrites each in
-- its normal form; of several that become the same, one is kept. Nothing the
-- chats follow changes, so they are not told.

INSERT OR IGNORE INTO subscriptions_to_check (subscription_id)
SELECT id FROM subscriptions WHERE kind = 'query';
