"""detect_language on the publication's real articles and on short, tricky titles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import DATA_DIR
from bot.ingest.entry import Entry
from bot.ingest.language import detect_language, normalize_language
from bot.ingest.listing import read_listing

ARTICLES = read_listing(DATA_DIR / "articles.txt")


def test_exactly_one_sample_article_is_spanish() -> None:
    languages = [detect_language(f"{entry.title}\n{entry.summary}") for entry in ARTICLES]

    assert languages.count("es") == 1
    assert ARTICLES[languages.index("es")].title.startswith("La muerte de Migrantes en Chihuahua")


@pytest.mark.parametrize("entry", ARTICLES, ids=lambda entry: entry.title[:40])
def test_titles_and_summaries_alone(entry: Entry) -> None:
    expected = "es" if entry.title.startswith("La muerte") else "en"

    assert detect_language(entry.title) == expected
    assert detect_language(entry.summary) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[Video] ¡Ni Una Menos! The Struggle Against Femicides in Mexico", "en"),
        ("500 Years After the Fall of Mexico-Tenochtitlán: A Marxist Perspective", "en"),
        ("Death of Migrants in Ciudad Juárez", "en"),
        ("Long live the revolution", "en"),
        ("¡Ni Una Menos!", "es"),
        ("¿Qué hacer?", "es"),
        ("Crónica de una muerte anunciada", "es"),
        ("Migración y crisis", "es"),
        ("Huelga general en México", "es"),
        ("Viva la revolución", "es"),
        ("Nuevo año, nueva lucha", "es"),
    ],
)
def test_short_titles(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "1917", "AMLO", "https://example.org"])
def test_no_evidence_gives_the_default(text: str) -> None:
    assert detect_language(text) == "en"
    assert detect_language(text, default="es") == "es"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("es-MX", "es"),
        ("es-mx", "es"),
        ("ES", "es"),
        ("en-us", "en"),
        ("en_GB", "en"),
        (" English ", "en"),
        ("español", "es"),
        ("fr-FR", None),
        ("pt", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_language(code: str | None, expected: str | None) -> None:
    assert normalize_language(code) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["en", "es"]))
def test_any_text_gets_en_or_es(text: str, default: str) -> None:
    assert detect_language(text, default=default) in {"en", "es"}
    assert detect_language(text, default=default) == detect_language(text, default=default)
