-- The categories a source filed an article under, as ingest read them (at most
-- 50, each at most 200 characters, line breaks between; '' for none). Feed
-- categories name topics ("Refugees" is migration), so a re-tag after the topic
-- catalogue changes must read them again with the text, or the topics they gave
-- are lost. NULL for an article stored before they were kept: a re-tag goes by
-- its text alone, as before.
ALTER TABLE articles ADD COLUMN categories TEXT;
