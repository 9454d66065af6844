-- Whether a target's digests and posts show Telegram's link preview of the
-- article that leads them. On by default: a preview of the lead article is what
-- readers expect of a publication; a chat that finds them noisy turns them off.
ALTER TABLE targets ADD COLUMN link_previews INTEGER NOT NULL DEFAULT 1
    CHECK (link_previews IN (0, 1));
