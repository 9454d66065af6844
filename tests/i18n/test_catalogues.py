import pytest

from bot.i18n import (
    catalogue,
    language_of,
    placeholders,
    plural_forms,
    plurals,
    t,
)
from bot.languages import LANGUAGES


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    english = catalogue("en")
    assert english, "the English catalogue is empty"
    for language in LANGUAGES:
        texts = catalogue(language)
        assert set(texts) == set(english), f"{language}: {set(english) ^ set(texts)}"
        for key, text in texts.items():
            assert placeholders(text) == placeholders(english[key]), f"{language}:{key}"


def test_every_counting_text_has_the_forms_of_its_language() -> None:
    english = plurals("en")
    assert english, "no counting texts"
    for language in LANGUAGES:
        texts = plurals(language)
        assert set(texts) == set(english), f"{language}: {set(english) ^ set(texts)}"
        for key, forms in texts.items():
            assert "one" in forms, f"{language}:{key}"
            assert "other" in forms, f"{language}:{key}"
            assert set(forms) <= plural_forms(language), f"{language}:{key}: {set(forms)}"
            expected = placeholders(english[key]["other"])
            assert "count" in expected, key
            assert placeholders(forms["other"]) == expected, f"{language}:{key}"
            for form, text in forms.items():
                # "one" may say "the only feed" instead of "1 feed"
                assert placeholders(text) <= expected, f"{language}:{key}:{form}"


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("en", 0, "0 feeds (OPML)"),
        ("en", 1, "1 feed (OPML)"),
        ("en", 1234, "1,234 feeds (OPML)"),
        ("es", 1, "1 fuente (OPML)"),
        ("es", 2, "2 fuentes (OPML)"),
        ("es", 1_000_000, "1.000.000 fuentes (OPML)"),  # CLDR "many" falls back to "other"
    ],
)
def test_counts_take_the_plural_form_of_their_language(
    language: str, count: int, expected: str
) -> None:
    assert t(language, "admin.export_caption", count=count) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("es", "es"), ("es-MX", "es"), ("en-GB", "en"), ("fr", "en"), (None, "en")],
)
def test_language_of_telegram_codes(code: str | None, expected: str) -> None:
    assert language_of(code) == expected


def test_spanish_texts_are_spanish() -> None:
    assert "Hola" in t("es", "reader.start", name="")
    assert "Hello" in t("en", "reader.start", name="")


def test_spanish_quotes_with_angle_quotes() -> None:
    """Spanish texts quote «así», never “así”, wherever the text comes from."""
    for key, text in catalogue("es").items():
        assert not {"“", "”"} & set(text), key
    for key, forms in plurals("es").items():
        assert not any("“" in text or "”" in text for text in forms.values()), key
    assert t("es", "digest.keyword", keyword="juarez") == "«juarez»"
