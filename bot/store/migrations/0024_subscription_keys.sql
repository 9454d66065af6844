-- What a target follows, as one value a scheduled run groups by: the topics it
-- follows (by slug: selection ranks them by the catalogue) and its keyword
-- queries (in the order made: a digest names them so), as JSON
-- ([["economy", ...], ["climate", ...]]). A run groups a million due targets by
-- what they follow and their settings to build each distinct digest once;
-- computed there, it was two ordered subqueries per target, most of the
-- grouping's work. Triggers keep it exact in the same transaction as every
-- change to a target's subscriptions, whichever statement makes it.

ALTER TABLE targets ADD COLUMN subscription_key TEXT NOT NULL DEFAULT '[[],[]]';

-- The key as computed from a target's subscriptions, stated once for the fill
-- and the triggers below (a view on one table: looked up by the target's id).
CREATE VIEW target_subscription_keys AS
SELECT t.id AS target_id, json_array(
    json((SELECT json_group_array(value) FROM (
        SELECT s.value FROM subscriptions AS s
        WHERE s.target_id = t.id AND s.kind = 'topic' ORDER BY s.value))),
    json((SELECT json_group_array(value) FROM (
        SELECT s.value FROM subscriptions AS s
        WHERE s.target_id = t.id AND s.kind = 'query' ORDER BY s.id)))) AS subscription_key
FROM targets AS t;

UPDATE targets SET subscription_key = (
    SELECT k.subscription_key FROM target_subscription_keys AS k WHERE k.target_id = targets.id)
WHERE id IN (SELECT target_id FROM subscriptions);

CREATE TRIGGER subscriptions_keyed_on_insert AFTER INSERT ON subscriptions
BEGIN
    UPDATE targets SET subscription_key = (
        SELECT k.subscription_key FROM target_subscription_keys AS k WHERE k.target_id = targets.id)
    WHERE id = NEW.target_id;
END;

CREATE TRIGGER subscriptions_keyed_on_delete AFTER DELETE ON subscriptions
BEGIN
    UPDATE targets SET subscription_key = (
        SELECT k.subscription_key FROM target_subscription_keys AS k WHERE k.target_id = targets.id)
    WHERE id = OLD.target_id;
END;

-- A change of value or kind (a keyword's revision), or of target: the old
-- target's key and the new one's (the same target, most often).
CREATE TRIGGER subscriptions_keyed_on_update AFTER UPDATE OF target_id, kind, value
ON subscriptions
BEGIN
    UPDATE targets SET subscription_key = (
        SELECT k.subscription_key FROM target_subscription_keys AS k WHERE k.target_id = targets.id)
    WHERE id IN (OLD.target_id, NEW.target_id);
END;
