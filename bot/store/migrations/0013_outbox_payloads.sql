-- Digest pages many chats get alike are stored once. A scheduled run at 08:00
-- gives 100,000 chats a few thousand distinct pages of about 4 KB each: stored
-- in every row, those bytes were most of the run's writes (twice, as SQLite
-- writes a page to the WAL and again at the checkpoint).
--
-- A row with a payload_id sends the shared object's parameters followed by its
-- own (`outbox.payload`, here only what differs per chat: the "show more"
-- button). The two never share a key, so joining them is textual: the shared
-- object without its closing brace, a comma, the row's object without its
-- opening one (`outbox_requests` below, which the sender's claim reads).
-- A payload is found by a hash of its text, so every batch of a run (and the
-- next run) refers to the one already stored instead of storing it again.
CREATE TABLE outbox_payloads (
    id      INTEGER PRIMARY KEY,
    digest  TEXT    NOT NULL UNIQUE,         -- hex BLAKE2b-128 of payload
    payload TEXT    NOT NULL                 -- a JSON object of Bot API parameters
);

ALTER TABLE outbox ADD COLUMN payload_id INTEGER REFERENCES outbox_payloads(id);
-- Pruning deletes shared payloads no row refers to any more.
CREATE INDEX outbox_by_payload ON outbox(payload_id) WHERE payload_id IS NOT NULL;

-- Every row with its full request: what the sender sends (less chat_id and
-- message_thread_id, which are columns). A broadcast's copy still reads its
-- request from its broadcast.
CREATE VIEW outbox_requests AS
SELECT o.*,
       CASE
           WHEN o.payload_id IS NULL THEN o.payload
           WHEN o.payload = '{}' THEN p.payload
           ELSE substr(p.payload, 1, length(p.payload) - 1) || ',' || substr(o.payload, 2)
       END AS request
FROM outbox AS o LEFT JOIN outbox_payloads AS p ON p.id = o.payload_id;
