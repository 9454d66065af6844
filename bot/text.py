"""Word normalisation shared by the index and the queries.

Both sides fold case and accents (`Juárez` → `juarez`) and stem every word
twice, as English and as Spanish, with the Snowball stemmers. The index keeps
the two stem sequences in parallel FTS5 columns; a query term matches if
either of its stems does, so `migrantes` finds "Migrants" and "Migrantes".
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import Stemmer

# FTS5's unicode61 tokenizer splits on everything but letters and digits,
# underscore included; words here must split the same way.
WORD = re.compile(r"[^\W_]+")


@cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    """The Snowball stemmer of a language, made on the first text to stem: a bot that
    has searched and ingested nothing yet idles without the library (0.7 MB)."""
    import Stemmer

    stemmer = Stemmer.Stemmer(language)
    stemmer.maxCacheSize = 50_000
    return stemmer


@cache
def _combining_marks() -> dict[int, None]:
    """Every combining mark, for str.translate (built once, on first accented text)."""
    return {code: None for code in range(sys.maxunicode + 1) if unicodedata.combining(chr(code))}


def fold(text: str) -> str:
    """Lower-case without accents: `Migración` → `migracion`, `Ñandú` → `nandu`."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).translate(_combining_marks()).casefold()


def words(text: str) -> list[str]:
    """The folded words of a text, split as FTS5 splits them."""
    return WORD.findall(fold(text))


def stem_english(folded_words: list[str]) -> list[str]:
    return list(_stemmer("english").stemWords(folded_words))


def stem_spanish(folded_words: list[str]) -> list[str]:
    return list(_stemmer("spanish").stemWords(folded_words))


@dataclass(frozen=True)
class IndexedText:
    """A text as the index sees it: its word stems in both languages, in order."""

    english: list[str]
    spanish: list[str]

    @property
    def stems(self) -> frozenset[str]:
        return frozenset(self.english) | frozenset(self.spanish)

    def column(self, language: str) -> str:
        return " ".join(self.english if language == "en" else self.spanish)


def index_text(text: str) -> IndexedText:
    folded = words(text)
    return IndexedText(stem_english(folded), stem_spanish(folded))


def index_columns(title: str, summary: str) -> tuple[str, str, str, str]:
    """An article's text columns in the index: title and summary, each stemmed
    as English and as Spanish (the order of `articles.INDEX_SQL`)."""
    title_text, summary_text = index_text(title), index_text(summary)
    return (
        title_text.column("en"),
        title_text.column("es"),
        summary_text.column("en"),
        summary_text.column("es"),
    )
