"""The Application's handlers and menus are the registries' (commands and
button kinds), checked on the real bot: a command in a menu without a handler,
a handler for a command in no menu, or a kind of button nothing answers, fails."""

from __future__ import annotations

import re

import pytest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.telegram import commands, keyboards
from tests.admin.conftest import ADMIN
from tests.harness import Harness


def _handlers(harness: Harness) -> list[object]:
    return [handler for group in harness.app.handlers.values() for handler in group]


def _menu(harness: Harness, scope: dict[str, object] | None, language: str) -> set[str]:
    return {c["command"] for c in harness.emulator.commands(scope, language)}


async def test_every_command_in_a_menu_is_handled_and_every_handled_one_is_in_a_menu(
    admin_harness: Harness,
) -> None:
    harness = admin_harness
    handled = {
        name
        for handler in _handlers(harness)
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }
    for language in ("", "en", "es"):
        everyone = _menu(harness, {"type": "default"}, language)
        groups = _menu(harness, {"type": "all_group_chats"}, language)
        admins = _menu(harness, {"type": "chat", "chat_id": ADMIN}, language)
        assert everyone == groups == set(commands.names("reader"))
        assert admins == set(commands.names("reader", "admin"))
        assert admins <= handled, "in a menu without a handler"
        assert handled <= admins, "handled but in no menu"


async def test_every_kind_of_button_is_routed_by_its_own_pattern(harness: Harness) -> None:
    routed = {
        handler.pattern
        for handler in _handlers(harness)
        if isinstance(handler, CallbackQueryHandler) and handler.pattern is not None
    }
    assert routed == {rule.pattern for rule in keyboards.KINDS.values()}


SAMPLES: dict[str, dict[str, object]] = {
    "topic": {"slug": "womens-rights"},
    "toggle": {"slug": "migration"},
    "latest_page": {"page": 3},
    "topic_page": {"slug": "migration", "page": 2},
    "search": {"page": 1, "query": "juárez lang:es"},
    "search_key": {"page": 0, "key": "0a1b2c3d4e5f6a7b"},
    "unsubscribe": {"id": 42},
    "read": {"id": 7},
    "unsubscribe_all": {"target": 7, "upto": 99},
    "digest_page": {"after": 0, "upto": 9, "offset": 10},
    "settings_view": {"menu": "main"},
    "settings_menu": {"menu": "tz"},
    "settings_set": {"field": "timezone", "value": "America/Bogota"},
    "broadcast_confirm": {"id": 1},
    "broadcast_paid": {"id": 2},
    "broadcast_stop": {"id": 3},
}


@pytest.mark.parametrize("kind", list(keyboards.KINDS))
def test_the_data_a_kind_makes_is_read_back_as_that_kind(kind: str) -> None:
    values = SAMPLES.get(kind, {})
    data = keyboards.KINDS[kind].data(**values)
    callback = keyboards.parse(data)
    assert callback is not None
    assert callback.kind == kind
    named = {key: str(value) for key, value in values.items()}
    assert {key: named[key] for key in callback.args} == callback.args
    assert set(re.findall(r"\{(\w+)\}", keyboards.KINDS[kind].form)) == set(values)
