"""An async Telegram bot that serves a publication's articles."""
