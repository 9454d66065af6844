"""What `python -m bot run` loads before it polls: only what a polling bot uses.

Most of an idle bot's memory is the modules it imported (matplotlib alone was
some 70 MB of a 107 MB process, for one /stats chart). The heavy ones are
imported where they are first needed; this checks, in a fresh interpreter
(the test process itself has imported everything by now), that the start-up
path of a polling bot does not pull them back in.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import fresh_python

# What `python -m bot run` executes before `run_polling`: `bot/__main__.py` (which
# imports `bot.cli`), `bot.telegram.run` (imported by `run_bot`) and the Application
# with its handlers, as `run` builds it.
STARTUP = """
import json, sys
import bot.__main__
from bot.config import Settings
from bot.telegram.run import run
from bot.telegram.app import build_application

build_application(Settings(_env_file=None), "123:TEST")
print(json.dumps(sorted(sys.modules)))
"""

# Loaded on first use instead: the /stats chart (matplotlib and what it brings), the
# first feed parse (feedparser), the first feed fetched or ingested (fetching, parsing,
# the pipeline; an empty database's seeding too), the first text indexed or searched (the
# stemmers), the first date or number formatted (babel), the webhook server (only with
# WEBHOOK_URL), the local chat mode and the emulator (tests, benchmarks, `chat`), and
# nothing from testing.
DEFERRED = (
    "matplotlib",
    "numpy",
    "PIL",
    "fontTools",
    "feedparser",
    "bot.ingest.fetch",
    "bot.ingest.parse",
    "bot.ingest.pipeline",
    "Stemmer",
    "babel",
    "aiohttp",  # the bot's client only with paid broadcasts, the webhook server only with a URL
    "bot.telegram.webhook",
    "xml.etree",  # OPML import and export
    "bot.chat",
    "bot.emulator",
    "pytest",
    "hypothesis",
)


def startup_modules(tmp_path: Path) -> set[str]:
    found = fresh_python(STARTUP, tmp_path, dropped=("BOT_", "WEBHOOK_", "ADMIN_", "TELEGRAM_"))
    return set(found)


def test_a_polling_bot_starts_without_the_modules_it_loads_on_first_use(tmp_path: Path) -> None:
    modules = startup_modules(tmp_path)
    # The list is the real one: the bot and PTB are in it.
    assert {"bot.cli", "bot.telegram.app", "telegram.ext"} <= modules
    loaded = [
        heavy
        for heavy in DEFERRED
        if any(name == heavy or name.startswith(heavy + ".") for name in modules)
    ]
    assert loaded == []
