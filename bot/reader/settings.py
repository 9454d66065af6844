"""Changing a target's settings by name and value, and saying what they are.

`/settings time 07:30`, the "07:30" button and an admin's `/channel_settings`
all come here: the value is read by `bot.preferences`, stored through the one
function that keeps a schedule change and its next digest time together, and
answered with what changed — or with what was wrong and what would be right.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.digest import schedule
from bot.digest.preview import next_digest_text
from bot.formatting import escape, truncate
from bot.i18n import t
from bot.preferences import FIELDS, MODES, WEEKDAYS, Change, Invalid, format_minute, parse_change
from bot.store.chats import Target
from bot.store.db import Database

ZONES_LISTED = 10  # of the zones an ambiguous name could mean


@dataclass(frozen=True)
class Saved:
    """A change stored, and the target as it stands after it."""

    change: Change
    target: Target


async def change(db: Database, target: Target, field: str, value: str, now: int) -> Saved | Invalid:
    """Set the setting `field` (as people type it) to `value`, or say why not
    (an Invalid lists the zones a city's name could mean in `candidates`)."""
    parsed = parse_change(field, value)
    if isinstance(parsed, Invalid):
        return parsed
    changes = {parsed.column: parsed.value}
    return Saved(parsed, await schedule.change_settings(db, target, changes, now))


def answer(result: Saved | Invalid, language: str, now: int) -> str:
    """What the reader is told: the change and the settings as they stand now
    (in the language in force after it), or what was wrong (in `language`)."""
    if isinstance(result, Invalid):
        return invalid_text(result, language)
    return (
        saved_text(result.change, result.target.ui_language) + "\n\n" + summary(result.target, now)
    )


def summary(target: Target, now: int) -> str:
    """The settings as they stand, with when the next digest comes (`now`
    decides it for a target not scheduled yet)."""
    language = target.ui_language
    return t(
        language,
        "settings.menu",
        mode=t(language, f"settings.mode_{target.digest_mode}"),
        when=_when(target),
        next=next_digest_text(target, now),
        timezone=escape(target.timezone),
        language=t(language, f"settings.language_{language}"),
        articles=_articles(target.article_language, language),
        previews=t(language, f"settings.previews_{'on' if target.link_previews else 'off'}"),
    )


def _when(target: Target) -> str:
    """The time (and, weekly, the day) a digest comes: nothing for instant or off,
    where neither means anything."""
    mode, language = target.digest_mode, target.ui_language
    if mode not in ("daily", "weekly"):
        return ""
    return t(
        language,
        f"settings.when_{mode}",
        time=format_minute(target.digest_minute),
        day=t(language, f"settings.day_{target.digest_weekday}"),
    )


def _articles(code: str | None, language: str) -> str:
    return t(language, f"settings.language_{code}" if code else "settings.articles_any")


def saved_text(change: Change, language: str) -> str:
    """'✅ Saved: time 07:30.', in the language in force after the change."""
    value = change.value
    if change.field == "digest":
        shown = t(language, f"settings.mode_{value}")
    elif change.field == "time" and isinstance(value, int):
        shown = format_minute(value)
    elif change.field == "day":
        shown = t(language, f"settings.day_{value}")
    elif change.field == "language":
        shown = t(language, f"settings.language_{value}")
    elif change.field == "articles":
        shown = _articles(value if isinstance(value, str) else None, language)
    elif change.field == "previews":
        shown = t(language, f"settings.previews_{'on' if value else 'off'}")
    else:
        shown = str(value)
    field = t(language, f"settings.field_{change.field}")
    return t(language, "settings.saved", field=field, value=shown)


def valid_values(field: str, language: str) -> str:
    if field == "digest":
        return ", ".join(MODES)
    if field == "time":
        return t(language, "settings.valid_time")
    if field == "day":
        return ", ".join(WEEKDAYS)
    if field == "timezone":
        return t(language, "settings.valid_timezone")
    if field == "language":
        return "en, es"
    if field == "previews":
        return t(language, "settings.valid_previews")
    return "any, en, es"


def invalid_text(problem: Invalid, language: str) -> str:
    value = escape(truncate(problem.value, 60)) or "—"
    if problem.field is None:
        return t(language, "settings.invalid_field", value=value, valid=", ".join(FIELDS))
    if problem.candidates:
        zones = list(problem.candidates[:ZONES_LISTED])
        if len(problem.candidates) > ZONES_LISTED:
            zones.append("…")
        return t(language, "settings.ambiguous_timezone", value=value, zones=", ".join(zones))
    return t(
        language,
        "settings.invalid_value",
        value=value,
        field=t(language, f"settings.field_{problem.field}"),
        valid=escape(valid_values(problem.field, language)),
    )
