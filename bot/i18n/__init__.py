"""Every text the bot shows, in English and Spanish.

Texts live in TOML catalogues, one file per area and language
(`catalogues/<area>.<lang>.toml`); a key is `<area>.<name>`. Placeholders use
`str.format` names. A test checks that both languages have the same keys
and the same placeholders, so a missing translation fails the build.
"""

from __future__ import annotations

import string
import tomllib
from datetime import datetime
from functools import cache
from importlib import resources

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"


def language_of(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Telegram's language_code ('es-MX', 'en', None) → a catalogue language."""
    if code and code.lower()[:2] in LANGUAGES:
        return code.lower()[:2]
    return default


@cache
def catalogue(language: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    folder = resources.files("bot.i18n") / "catalogues"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        area, _, rest = entry.name.partition(".")
        if rest != f"{language}.toml":
            continue
        for key, value in tomllib.loads(entry.read_text("utf-8")).items():
            texts[f"{area}.{key}"] = str(value)
    return texts


def t(language: str, key: str, /, **values: object) -> str:
    """The text for `key` in `language` (English when missing), filled in."""
    text = catalogue(language if language in LANGUAGES else DEFAULT_LANGUAGE).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE)[key]
    return text.format(**values) if values else text


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# babel is imported by the first date formatted, not with the catalogues: an idle
# bot does not need it, and its locale data (some 5 MB) loads on first use anyway.


def long_date(moment: datetime, language: str) -> str:
    """'25 November 2026' / '25 de noviembre de 2026'."""
    from babel.dates import format_date

    return format_date(moment, format="long", locale=language)


def short_date(moment: datetime, language: str) -> str:
    from babel.dates import format_date

    return format_date(moment, format="medium", locale=language)


def date_time(moment: datetime, language: str) -> str:
    from babel.dates import format_datetime

    return format_datetime(moment, format="medium", locale=language, tzinfo=moment.tzinfo)
