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

from bot.search.text import fold

MODES = ("instant", "daily", "weekly", "off")
LANGUAGES = ("en", "es")
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

Field = Literal["digest", "time", "day", "timezone", "language", "articles"]
FIELDS: tuple[Field, ...] = ("digest", "time", "day", "timezone", "language", "articles")
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
}
_TIME = re.compile(r"^(\d{1,2})(?::?(\d{2}))?\s*(am|pm|h)?$")


@dataclass(frozen=True)
class Change:
    """A valid change: the target column and its new value."""

    field: Field
    column: str
    value: str | int | None


@dataclass(frozen=True)
class Invalid:
    """Why a value was refused; `field` lets the caller list the valid values."""

    field: Field | None
    value: str


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


def parse_timezone(text: str) -> str | None:
    """An IANA zone name, case-insensitive; spaces may stand for underscores."""
    candidate = text.strip().replace(" ", "_")
    zone = _zones_by_key().get(candidate.casefold())
    if zone is None:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return zone


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
        zone = parse_timezone(value)
        return Invalid(field, value) if zone is None else Change(field, "timezone", zone)
    if field == "language":
        code = {"english": "en", "ingles": "en", "spanish": "es", "espanol": "es"}.get(
            folded, folded
        )
        return Change(field, "ui_language", code) if code in LANGUAGES else Invalid(field, value)
    if folded in ("any", "all", "todos", "todas", "cualquiera"):
        return Change(field, "article_language", None)
    code = {"english": "en", "ingles": "en", "spanish": "es", "espanol": "es"}.get(folded, folded)
    return Change(field, "article_language", code) if code in LANGUAGES else Invalid(field, value)
