import pytest
from telegram import InlineKeyboardMarkup

from bot.telegram.handlers.buttons import HANDLERS
from bot.telegram.keyboards import (
    KINDS,
    button,
    more_keyboard,
    parse,
    settings_keyboard,
    start_keyboard,
    without_posting,
)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("tl", "topics"),
        ("lt", "latest"),
        ("lp:3", "latest_page"),
        ("t:migration", "topic"),
        ("tp:womens-rights:2", "topic_page"),
        ("ts:womens-rights", "toggle"),
        ("s:2:juarez lang:es", "search"),
        ("sk:1:0a1b2c3d4e5f6a7b", "search_key"),
        ("u:42", "unsubscribe"),
        ("sm:tz", "settings_menu"),
        ("sm:main", "settings_view"),
        ("sm:done", "settings_view"),
        ("dg:1:0:9:10", "digest_page"),
        ("st:timezone:America/Mexico_City", "settings_set"),
    ],
)
def test_known_data(data: str, kind: str) -> None:
    callback = parse(data)
    assert callback is not None
    assert callback.kind == kind


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "x",
        "t:",
        "t:../../etc",
        "u:-1",
        "u:abc",
        "sm:admin",
        "st:colour:red",
        "s:x:y",
        "lp:",
        "lp:1234",
        "tp:migration",
        "tp:Migration:1",
        "é" * 40,
    ],
)
def test_forged_or_stale_data_is_refused(data: str | None) -> None:
    assert parse(data) is None


def test_every_kind_of_button_has_one_handler() -> None:
    assert HANDLERS.keys() == KINDS.keys()


def test_buttons_that_change_the_chat_are_for_those_who_configure_it() -> None:
    configuring = {kind for kind, rule in KINDS.items() if rule.who == "configurer"}
    assert configuring == {
        "toggle",
        "unsubscribe",
        "unsubscribe_all",
        "unsubscribe_keep",
        "settings_menu",
        "settings_set",
    }


def test_buttons_that_only_post_are_left_out() -> None:
    def data(markup: InlineKeyboardMarkup | None) -> list[str | None]:
        rows = markup.inline_keyboard if markup else ()
        return [str(b.callback_data) for row in rows for b in row]

    assert data(without_posting(start_keyboard("en"))) == ["tl", "sm:main"]
    assert without_posting(more_keyboard("s:1:juarez", "en")) is None
    assert without_posting(InlineKeyboardMarkup([[button("More", "dg:1:0:9:10")]])) is None
    settings = settings_keyboard("en")
    assert without_posting(settings) == settings
    assert without_posting(None) is None
