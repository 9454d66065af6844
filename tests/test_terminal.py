from dataclasses import dataclass

from bot.terminal import BOLD, RESET, numbered_buttons, render


@dataclass
class E:
    offset: int
    length: int
    type: str
    url: str | None = None


def test_render_styles_and_links() -> None:
    text = "Juárez 😀 news here"
    entities = [E(0, 6, "bold"), E(10, 4, "text_link", "https://ex.org")]
    assert render(text, entities, color=False) == "Juárez 😀 news <https://ex.org> here"
    assert render(text, entities).startswith(f"{BOLD}Juárez{RESET} ")


def test_numbered_buttons() -> None:
    text, positions = numbered_buttons([["Topics", "Latest"], ["Settings"]])
    assert text == "[1] Topics  [2] Latest\n[3] Settings"
    assert positions == [(0, 0), (0, 1), (1, 0)]
