"""The bot with the admin tools in a process of its own, so a test can kill it.

python tests/admin/bot_process.py   (configured by the environment, like `bot run`)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from telegram import Update

from bot.config import Settings
from bot.logs import configure_logging
from bot.telegram.app import build_application
from tests.admin.wiring import with_admin_tools


def main() -> None:
    settings = Settings()
    assert settings.bot_token is not None
    configure_logging(settings.log_level, [settings.bot_token.get_secret_value()])
    build = with_admin_tools(build_application)
    application = build(settings, settings.bot_token.get_secret_value())
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
