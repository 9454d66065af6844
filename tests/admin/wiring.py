"""The admin tools wired into the Application the way app.py is to do it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.telegram.app import App
from bot.telegram.handlers.admin import add_admin_handlers, set_admin_commands


def with_admin_tools(build: Callable[..., App]) -> Callable[..., App]:
    """`build_application` plus `add_admin_handlers`, and `set_admin_commands` after
    the reader's menu at start-up; harmless once app.py does both itself."""

    def build_with_admin(*args: Any, **kwargs: Any) -> App:
        application = build(*args, **kwargs)
        add_admin_handlers(application)
        post_init = application.post_init

        async def init(app: App) -> None:
            if post_init is not None:
                await post_init(app)
            await set_admin_commands(app)

        application.post_init = init
        return application

    return build_with_admin
