-- Admin tools: a broadcast's final report, and what /stats and the audit read.

-- Set once the admin's progress message shows the final summary. Until then
-- the progress job reports on the broadcast, and picks it up again after a
-- restart, so a crash never leaves an admin looking at a frozen counter.
ALTER TABLE broadcasts ADD COLUMN reported_at INTEGER;
CREATE INDEX broadcasts_unreported ON broadcasts(id)
    WHERE reported_at IS NULL AND confirmed_at IS NOT NULL;

CREATE INDEX audit_log_by_time ON audit_log(at);
-- Subscriber growth for the statistics chart.
CREATE INDEX subscriptions_by_time ON subscriptions(created_at);
