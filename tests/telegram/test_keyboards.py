import pytest

from bot.telegram.keyboards import parse


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ("tl", "topics"),
        ("lt", "latest"),
        ("t:migration", "topic"),
        ("ts:womens-rights", "toggle"),
        ("s:2:juarez lang:es", "search"),
        ("sk:1:0a1b2c3d4e5f6a7b", "search_key"),
        ("u:42", "unsubscribe"),
        ("sm:tz", "settings_menu"),
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
        "é" * 40,
    ],
)
def test_forged_or_stale_data_is_refused(data: str | None) -> None:
    assert parse(data) is None
