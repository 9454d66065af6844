from bot.search.snippet import make_snippet
from bot.text import fold, index_text, words


def test_fold_and_words() -> None:
    assert fold("Ciudad Juárez") == "ciudad juarez"
    assert words("AMLO’s March on 27N: ¡Ni Una Menos!") == [
        "amlo",
        "s",
        "march",
        "on",
        "27n",
        "ni",
        "una",
        "menos",
    ]


def test_both_languages_are_indexed() -> None:
    text = index_text("Migrantes")
    assert text.english == ["migrant"]
    assert text.spanish == ["migrant"]


def test_marks_matching_words_in_the_original_text() -> None:
    stems = frozenset({"juarez"})
    segments = make_snippet("Death of Migrants in Ciudad Juárez, Mexico", stems)
    assert [s.text for s in segments if s.marked] == ["Juárez"]
    assert "".join(s.text for s in segments) == "Death of Migrants in Ciudad Juárez, Mexico"


def test_long_text_is_cut_around_the_first_match() -> None:
    text = "word " * 200 + "Juárez " + "tail " * 200
    segments = make_snippet(text, frozenset({"juarez"}), width=120)
    joined = "".join(s.text for s in segments)
    assert "Juárez" in joined
    assert joined.startswith("…")
    assert joined.endswith("…")
    assert len(joined) < 140


def test_prefix_marks() -> None:
    segments = make_snippet("Femicides in Mexico", frozenset(), ("femi",))
    assert [s.text for s in segments if s.marked] == ["Femicides"]
