"""An async Telegram bot that serves a publication's articles."""

import os

# Opt in to python-telegram-bot's coming behaviour (time spans as timedelta,
# e.g. RetryAfter.retry_after); the code handles both, and the opt-in silences
# a deprecation warning on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")
