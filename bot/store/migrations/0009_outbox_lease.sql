-- When a row was claimed. A row whose outcome could not be written stays
-- 'sending' and holds back its chat's queue; once its claim is older than the
-- sender's lease, and no request for it is in flight, it goes back to the queue
-- instead of waiting for a restart. NULL: claimed before this column existed.

ALTER TABLE outbox ADD COLUMN claimed_at REAL;
