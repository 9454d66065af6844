import pytest

from bot.i18n import LANGUAGES, catalogue, language_of, placeholders, t


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    english = catalogue("en")
    assert english, "the English catalogue is empty"
    for language in LANGUAGES:
        texts = catalogue(language)
        assert set(texts) == set(english), f"{language}: {set(english) ^ set(texts)}"
        for key, text in texts.items():
            assert placeholders(text) == placeholders(english[key]), f"{language}:{key}"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("es", "es"), ("es-MX", "es"), ("en-GB", "en"), ("fr", "en"), (None, "en")],
)
def test_language_of_telegram_codes(code: str | None, expected: str) -> None:
    assert language_of(code) == expected


def test_spanish_texts_are_spanish() -> None:
    assert "Hola" in t("es", "reader.start", name="")
    assert "Hello" in t("en", "reader.start", name="")
