-- What a broadcast's progress message shows now: see
-- bot/store/migrations/0026_progress_shown.sql, which this equals.
ALTER TABLE broadcasts ADD COLUMN progress_shown TEXT COLLATE "C";
