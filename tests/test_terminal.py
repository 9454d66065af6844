from bot.terminal import BOLD, RESET, numbered_buttons, render


def test_render_keeps_text_and_shows_links() -> None:
    markup = '<b>Title</b> &amp; <a href="https://ex.org/?a=1&amp;b=2">link</a>'
    assert render(markup, color=False) == "Title & link <https://ex.org/?a=1&b=2>"
    assert render("<b>x</b>") == f"{BOLD}x{RESET}"


def test_numbered_buttons() -> None:
    text, positions = numbered_buttons([["Topics", "Latest"], ["Settings"]])
    assert text == "[1] Topics  [2] Latest\n[3] Settings"
    assert positions == [(0, 0), (0, 1), (1, 0)]
