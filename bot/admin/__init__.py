"""Admin tools without Telegram: broadcast audiences and progress, OPML,
statistics and their chart, and feed management on top of the store."""
