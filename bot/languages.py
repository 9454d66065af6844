"""The languages the publication writes in and the bot speaks, listed once.

Every rule that accepts a language reads this one tuple: a search's `lang:`,
a feed's declared language, a reader's settings, the text catalogues, an
admin's audience and the command menus. A third language is one more code
here (and its catalogues), not a hunt through the features. It sits below
them all and imports nothing of the bot's, so anything may import it.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "es")

FLAGS: Final = {"en": "🇬🇧", "es": "🇪🇸"}
"""The sign that names a language without words (the link to a story's other
version: "🇪🇸 La muerte de Migrantes…"). A language without one shows its code."""


def flag(language: str) -> str:
    return FLAGS.get(language, language.upper())
