-- An article's lead image, as its source names it: Telegram fetches the URL
-- itself when a message shows it, so only the address and, when the source
-- gives them, the width and height (pixels) are kept. NULL: no usable image.
-- On the article's own row because every list, digest and post that shows an
-- article may show its image.
ALTER TABLE articles ADD COLUMN image_url TEXT;
ALTER TABLE articles ADD COLUMN image_width INTEGER;
ALTER TABLE articles ADD COLUMN image_height INTEGER;
