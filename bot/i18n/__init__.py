"""Every text the bot shows, in English and Spanish.

Texts live in TOML catalogues, one file per area and language
(`catalogues/<area>.<lang>.toml`); a key is `<area>.<name>`. Placeholders use
`str.format` names. A test checks that both languages have the same keys
and the same placeholders, so a missing translation fails the build.

A text that counts something is a table of CLDR plural forms instead of a
string (`feeds = { one = "{count} feed", other = "{count} feeds" }`): `t`
picks the form for its `count` by Babel's plural rules of the language, as
"1 feeds" is wrong in English and Spanish alike, and other languages have
more forms than two.
"""

from __future__ import annotations

import string
import tomllib
from datetime import datetime
from functools import cache
from importlib import resources

from bot.languages import LANGUAGES

DEFAULT_LANGUAGE = "en"


def language_of(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Telegram's language_code ('es-MX', 'en', None) → a catalogue language."""
    if code and code.lower()[:2] in LANGUAGES:
        return code.lower()[:2]
    return default


@cache
def _entries(language: str) -> dict[str, str | dict[str, str]]:
    entries: dict[str, str | dict[str, str]] = {}
    folder = resources.files("bot.i18n") / "catalogues"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        area, _, rest = entry.name.partition(".")
        if rest != f"{language}.toml":
            continue
        for key, value in tomllib.loads(entry.read_text("utf-8")).items():
            forms = value if isinstance(value, dict) else None
            entries[f"{area}.{key}"] = (
                {str(form): str(text) for form, text in forms.items()}
                if forms is not None
                else str(value)
            )
    return entries


@cache
def catalogue(language: str) -> dict[str, str]:
    """The plain texts of a language, by key."""
    return {key: text for key, text in _entries(language).items() if isinstance(text, str)}


@cache
def plurals(language: str) -> dict[str, dict[str, str]]:
    """The counting texts of a language: key → CLDR plural form → text."""
    return {key: forms for key, forms in _entries(language).items() if isinstance(forms, dict)}


def t(language: str, key: str, /, **values: object) -> str:
    """The text for `key` in `language` (English when missing), filled in.

    For a counting text, `count` (a number) chooses the plural form and is
    written as the language writes numbers ("1,234" / "1234")."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    entry = _entries(language).get(key)
    if entry is None:
        language, entry = DEFAULT_LANGUAGE, _entries(DEFAULT_LANGUAGE)[key]
    if isinstance(entry, dict):
        count = values.get("count")
        if not isinstance(count, int | float):
            raise TypeError(f"{key} counts: pass count=<number>")
        entry = entry.get(plural_form(count, language)) or entry["other"]
        values = {**values, "count": number(count, language)}
    return entry.format(**values) if values else entry


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# babel is imported by the first date formatted, not with the catalogues: an idle
# bot does not need it, and its locale data (some 5 MB) loads on first use anyway.


def plural_form(count: float, language: str) -> str:
    """The CLDR plural category of `count` in `language`: 'one', 'many', 'other'…"""
    from babel import Locale

    form: str = Locale.parse(language).plural_form(count)
    return form


def plural_forms(language: str) -> frozenset[str]:
    """Every plural category the language distinguishes ('other' always among them)."""
    from babel import Locale

    forms: frozenset[str] = Locale.parse(language).plural_form.tags | {"other"}
    return forms


def number(value: float, language: str) -> str:
    """A number as the language writes it ('1,234.5' / '1234,5')."""
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=language))


def autonym(language: str) -> str:
    """A language's name in itself, as a menu of languages shows it: a reader
    looks for their own language's name, not its name in the language the menu
    happens to be in ("English", "Español")."""
    from babel import Locale

    name = str(Locale.parse(language).get_display_name(language))
    return name[:1].upper() + name[1:]


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


def day_and_time(moment: datetime, language: str) -> str:
    """'Wednesday, June 3, 07:30' / 'miércoles, 3 de junio, 7:30': when something
    comes within the next days, with the weekday a reader plans by, joined as
    the language joins a date and a time (a 24-hour clock, as settings are set)."""
    from babel.dates import format_date, format_skeleton, get_datetime_format

    day = f"{format_date(moment, 'EEEE', locale=language)}, "
    day += format_skeleton("MMMMd", moment, locale=language)
    clock = format_skeleton("Hm", moment, locale=language)
    joined = str(get_datetime_format("medium", locale=language))
    return joined.replace("{1}", day).replace("{0}", clock)
