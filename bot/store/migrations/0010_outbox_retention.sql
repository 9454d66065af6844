-- Keeping the outbox small: finished rows are deleted after a retention period,
-- and a broadcast's copies refer to its request instead of each holding it.

-- What /stats needs of the deleted rows: how many ended each way, per UTC day.
-- Rows move here in the transaction that deletes them, so each is counted once.
CREATE TABLE outbox_daily (
    day   INTEGER NOT NULL,   -- UTC midnight, Unix seconds
    kind  TEXT    NOT NULL,
    state TEXT    NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, kind, state)
) WITHOUT ROWID;

-- A copy whose payload is '' sends its broadcast's request (broadcasts.payload
-- holds {"method": ..., "params": {...}}). Copies queued before now that hold
-- the very same request give theirs up.
UPDATE outbox SET payload = ''
WHERE broadcast_id IS NOT NULL AND payload <> ''
  AND CASE WHEN json_valid(payload) THEN json(payload) END = (
      SELECT json_extract(b.payload, '$.params') FROM broadcasts AS b
      WHERE b.id = outbox.broadcast_id);
