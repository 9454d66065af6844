-- Keyword subscriptions to hold against the query rules. A prefix now needs at
-- least 3 letters and a search holds at most 2 prefixes (bot/search/query.py);
-- subscriptions written before could break either, and every digest run would
-- pay for them. SQL cannot parse a query the way the bot does, so this lists
-- the candidates (only a query with a `*` can break a prefix rule) and start-up
-- (bot/search/keywords.py) brings each within the rules or removes it, tells its
-- chat in the chat's language, and deletes the row in the same transaction, so
-- each chat is told once.

CREATE TABLE subscriptions_to_check (
    subscription_id INTEGER PRIMARY KEY REFERENCES subscriptions(id) ON DELETE CASCADE
);

INSERT INTO subscriptions_to_check (subscription_id)
SELECT id FROM subscriptions WHERE kind = 'query' AND value LIKE '%*%';
