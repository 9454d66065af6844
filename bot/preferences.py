"""Digest and interface preferences: what values exist and how people type them.

Pure functions shared by `/settings` arguments and the settings keyboard, so
`/settings time 8:30` and the "08:30" button go through the same check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.languages import LANGUAGES
from bot.text import fold, words

MODES = ("instant", "daily", "weekly", "off")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS_ES = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
COMMON_ZONES = (
    "America/Mexico_City",
    "America/Bogota",
    "America/Argentina/Buenos_Aires",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Madrid",
    "Europe/London",
    "UTC",
)
PICKER_TIMES = ("06:00", "07:00", "08:00", "09:00", "12:00", "18:00", "20:00", "22:00")
MIN_PARTIAL_CHARS = 3  # "bo" would name a dozen cities: no answer worth giving
MAX_ZONE_CHARS = 64  # longer than any city's name or zone's

Field = Literal["digest", "time", "day", "timezone", "language", "articles", "previews"]
FIELDS: tuple[Field, ...] = (
    "digest",
    "time",
    "day",
    "timezone",
    "language",
    "articles",
    "previews",
)
FIELD_ALIASES: dict[str, Field] = {
    "digest": "digest",
    "mode": "digest",
    "frequency": "digest",
    "frecuencia": "digest",
    "time": "time",
    "hora": "time",
    "day": "day",
    "weekday": "day",
    "dia": "day",
    "timezone": "timezone",
    "tz": "timezone",
    "zona": "timezone",
    "language": "language",
    "lang": "language",
    "idioma": "language",
    "articles": "articles",
    "articulos": "articles",
    "previews": "previews",
    "preview": "previews",
    "vistas": "previews",
    "vista": "previews",
    "previsualizaciones": "previews",
}
SWITCHES: dict[str, bool] = {
    "on": True,
    "yes": True,
    "si": True,
    "activadas": True,
    "off": False,
    "no": False,
    "desactivadas": False,
}
"""How a yes/no setting (`previews`) is typed, in either language."""
_TIME = re.compile(r"^(\d{1,2})(?::?(\d{2}))?\s*(am|pm|h)?$")


@dataclass(frozen=True)
class Change:
    """A valid change: the target column and its new value."""

    field: Field
    column: str
    value: str | int | bool | None


@dataclass(frozen=True)
class Invalid:
    """Why a value was refused; `field` lets the caller list the valid values,
    `candidates` the values it could have meant (a city name several zones share)."""

    field: Field | None
    value: str
    candidates: tuple[str, ...] = ()


def parse_time(text: str) -> int | None:
    """Minutes after midnight for '08:00', '8:30', '830', '8', '8pm', '20h'."""
    match = _TIME.match(text.strip().lower())
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2] or 0)
    if match[3] == "pm" and hour < 12:
        hour += 12
    elif match[3] == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return hour * 60 + minute


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_weekday(text: str) -> int | None:
    key = fold(text.strip())
    for names in (WEEKDAYS, WEEKDAYS_ES):
        for index, name in enumerate(names):
            if len(key) >= 2 and name.startswith(key):
                return index
    return None


@cache
def _zones_by_key() -> dict[str, str]:
    return {zone.casefold(): zone for zone in available_timezones()}


@cache
def _zones_by_city() -> dict[str, frozenset[str]]:
    """Folded city name → the zones named after it.

    A city is known by its zone's last part ("Mexico_City") and by its English
    and Spanish names in Babel's CLDR data ("Bogotá", "Ciudad de México", "Nueva
    York"). Only canonical zones count, so "Buenos Aires" is one zone, not also
    its older alias; zones that are not a place (UTC, Etc/GMT+5) are left out,
    as their names would mislead ("Etc/GMT+5" is five hours *behind*). Built
    once, on the first name typed (some 0.2 s), not at start-up.
    """
    from babel.core import get_global
    from babel.dates import get_timezone_location

    aliases = get_global("zone_aliases")
    zones = available_timezones()
    cities: dict[str, set[str]] = {}
    for zone in zones:
        if "/" not in zone or zone.startswith("Etc/") or aliases.get(zone, zone) != zone:
            continue
        names = {zone.rsplit("/", 1)[-1]}
        names.update(
            get_timezone_location(zone, locale=code, return_city=True) for code in LANGUAGES
        )
        for name in names:
            cities.setdefault(_city_key(name), set()).add(zone)
    cities.pop("", None)
    return {key: frozenset(found) for key, found in cities.items()}


def _city_key(text: str) -> str:
    return " ".join(words(text.replace("_", " ")))


def find_timezones(text: str) -> tuple[str, ...]:
    """The zones `text` may mean, sorted: an IANA name (case-insensitive, spaces
    for underscores), else a city's name in English or Spanish, else the start of
    a city's name or of a word in it ("york"), accents and case aside.
    One zone is an answer; several, a question back; none, a refusal."""
    text = text.strip()
    if not text or len(text) > MAX_ZONE_CHARS:
        return ()
    zone = _zones_by_key().get(text.replace(" ", "_").casefold())
    if zone is not None and _loads(zone):
        return (zone,)
    key = _city_key(text)
    cities = _zones_by_city()
    if key in cities:
        return tuple(sorted(cities[key]))
    if len(key) < MIN_PARTIAL_CHARS:
        return ()
    found = {
        zone
        for city, zones in cities.items()
        if city.startswith(key) or f" {key}" in f" {city}"
        for zone in zones
    }
    return tuple(sorted(found))


def _loads(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_timezone(text: str) -> str | None:
    """The one zone `text` names (see `find_timezones`), or None."""
    zones = find_timezones(text)
    return zones[0] if len(zones) == 1 else None


def parse_change(field_text: str, value_text: str) -> Change | Invalid:
    """`/settings <field> <value>` → a change, or why not."""
    field = FIELD_ALIASES.get(fold(field_text.strip()))
    if field is None:
        return Invalid(None, field_text)
    value = value_text.strip()
    folded = fold(value)
    if field == "digest":
        aliases = {"instantaneo": "instant", "diario": "daily", "semanal": "weekly", "no": "off"}
        mode = aliases.get(folded, folded)
        return Change(field, "digest_mode", mode) if mode in MODES else Invalid(field, value)
    if field == "time":
        minute = parse_time(value)
        return Invalid(field, value) if minute is None else Change(field, "digest_minute", minute)
    if field == "day":
        day = parse_weekday(value)
        return Invalid(field, value) if day is None else Change(field, "digest_weekday", day)
    if field == "timezone":
        zones = find_timezones(value)
        if len(zones) == 1:
            return Change(field, "timezone", zones[0])
        return Invalid(field, value, candidates=zones)
    if field == "language":
        code = {"english": "en", "ingles": "en", "spanish": "es", "espanol": "es"}.get(
            folded, folded
        )
        return Change(field, "ui_language", code) if code in LANGUAGES else Invalid(field, value)
    if field == "previews":
        switch = SWITCHES.get(folded)
        return Invalid(field, value) if switch is None else Change(field, "link_previews", switch)
    if folded in ("any", "all", "todos", "todas", "cualquiera"):
        return Change(field, "article_language", None)
    code = {"english": "en", "ingles": "en", "spanish": "es", "espanol": "es"}.get(folded, folded)
    return Change(field, "article_language", code) if code in LANGUAGES else Invalid(field, value)
