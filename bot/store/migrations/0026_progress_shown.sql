-- The text a broadcast's progress message shows now, so that a report which
-- would not change it is not sent: Telegram refuses an edit that changes
-- nothing. It lives here rather than in the bot's memory because the bot that
-- showed it (the one the admin's press reached) need not be the one that
-- reports next (the leader), and a restart must not forget it either.
ALTER TABLE broadcasts ADD COLUMN progress_shown TEXT;
