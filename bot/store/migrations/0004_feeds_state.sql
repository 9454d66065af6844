-- Where a feed came from and who stopped it, and the partial indexes the
-- digest and polling jobs read, so each job's cost follows the rows it acts on.

-- 'config': listed in feeds.toml and synced at start; 'admin': added by command.
ALTER TABLE feeds ADD COLUMN origin TEXT NOT NULL DEFAULT 'admin'
    CHECK (origin IN ('config', 'admin'));
ALTER TABLE feeds ADD COLUMN added_by INTEGER;
-- 'config' when it left feeds.toml (it comes back if listed again), 'admin'
-- when an admin removed it (only an admin brings it back).
ALTER TABLE feeds ADD COLUMN removed_by TEXT CHECK (removed_by IN ('config', 'admin'));

CREATE INDEX feeds_due ON feeds(next_poll_at) WHERE removed_at IS NULL;

-- Targets created or switched to a schedule without a next time yet.
CREATE INDEX targets_unscheduled ON targets(id)
    WHERE next_digest_at IS NULL AND digest_mode IN ('daily', 'weekly');
-- Instant targets behind the newest article.
CREATE INDEX targets_instant ON targets(cursor_article_id) WHERE digest_mode = 'instant';
