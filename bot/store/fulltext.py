"""A text search as each engine's full-text index takes it.

`bot.search.query` parses what a person types; each of its words, prefixes and
phrases reaches the store as the stems the index holds (`Term`), and the store
writes them in its engine's language: an FTS5 MATCH expression on SQLite
(`fts5`), a `to_tsquery('simple', …)` text on PostgreSQL (`tsquery`). Both find
the same articles.

The index keeps each article's title and summary stemmed as English and as
Spanish (`bot.text.index_columns`). A term matches when its English stems are in
an English column or its Spanish stems in a Spanish one: FTS5 says so with
column filters; PostgreSQL's document weighs each column apart (title_en 'A',
title_es 'B', summary_en 'C', summary_es 'D', migration 0024), so a term's
lexemes carry the weights of their language's columns, `:AC` or `:BD`, and the
title's alone, `:A` or `:B`, where a query asks for titles. Without the weights
an English stem would match the same letters among another word's Spanish
stems (`mexicana` finds an article saying "Mexican", whose English stem is
`mexican`, which FTS5 does not), and a phrase could run from the end of one
column into the next.

Each stem goes to PostgreSQL quoted, through the same parser that split the
document's text, so the two split a word alike even where PostgreSQL's parser
differs from FTS5's tokenizer: a stem it cuts in two (`1e10x` is a number then a
word) becomes a phrase of its pieces, which the document holds side by side.
What stays apart (tests/search/test_engines_agree.py): a search for a piece alone
(`x`, `1e10`) finds such a word on PostgreSQL, never in FTS5; so do the pieces
around a rare-script numeral sign (category No), which its parser reads as a
space. The bot's words are only letters and digits, so nothing else differs.
"""

from __future__ import annotations

from dataclasses import dataclass

ENGLISH_COLUMNS = "AC"
SPANISH_COLUMNS = "BD"
ENGLISH_TITLE = "A"
SPANISH_TITLE = "B"


@dataclass(frozen=True)
class Term:
    """One thing to match, as the index holds it: a word (one stem per language)
    or a phrase (several, in order); with `prefix`, its last stem may be the
    start of a longer word."""

    english: tuple[str, ...]
    spanish: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class TextMatch:
    """What a search's words ask: every term, and none of the excluded ones."""

    terms: tuple[Term, ...]
    excluded: tuple[Term, ...] = ()

    def __post_init__(self) -> None:
        if not self.terms:
            raise ValueError("a text match needs at least one term")


def fts5(match: TextMatch) -> str:
    """The FTS5 MATCH expression: every term, then each exclusion as NOT."""
    expression = " AND ".join(_fts5_term(term) for term in match.terms)
    for term in match.excluded:
        expression = f"({expression}) NOT {_fts5_term(term)}"
    return expression


def fts5_in_title(match: TextMatch) -> str:
    """The matches with at least one of the terms in their title: these rank first."""
    titles = " OR ".join(_fts5_term(term, titles_only=True) for term in match.terms)
    return f"({fts5(match)}) AND ({titles})"


def _fts5_term(term: Term, *, titles_only: bool = False) -> str:
    star = "*" if term.prefix else ""
    english = _fts5_quote(term.english)
    spanish = _fts5_quote(term.spanish)
    if english == spanish:
        # The same phrase in every column matches exactly what the pair
        # matches (the index's only other column holds `_en`/`_es`, which no
        # query word can be), and FTS5 then need not read positions to check
        # columns: an AND of common words costs a quarter as much.
        if titles_only:
            return f"({{title_en title_es}} : {english}{star})"
        return f"{english}{star}"
    if titles_only:
        return f"({{title_en}} : {english}{star} OR {{title_es}} : {spanish}{star})"
    return (
        f"({{title_en summary_en}} : {english}{star} OR {{title_es summary_es}} : {spanish}{star})"
    )


def _fts5_quote(stems: tuple[str, ...]) -> str:
    return '"' + " ".join(stems).replace('"', '""') + '"'


def tsquery(match: TextMatch) -> str:
    """The text for `to_tsquery('simple', …)` matching what `fts5` matches."""
    expression = " & ".join(
        _tsquery_term(term, ENGLISH_COLUMNS, SPANISH_COLUMNS) for term in match.terms
    )
    for term in match.excluded:
        # `!` binds tighter than `<->`: an excluded phrase keeps its parentheses.
        expression += f" & !({_tsquery_term(term, ENGLISH_COLUMNS, SPANISH_COLUMNS)})"
    return expression


def tsquery_titles(match: TextMatch) -> str:
    """The text for `to_tsquery('simple', …)` true of a document with at least one
    of the terms in its title; of the matches of `tsquery`, those `fts5_in_title`
    matches."""
    return " | ".join(_tsquery_term(term, ENGLISH_TITLE, SPANISH_TITLE) for term in match.terms)


def _tsquery_term(term: Term, english_weights: str, spanish_weights: str) -> str:
    if term.english == term.spanish and len(term.english) == 1:
        # One stem for both languages: in any of the columns asked, whichever
        # language; no phrase can cross from one column into the next.
        return _tsquery_phrase(term.english, term.prefix, english_weights + spanish_weights)
    english = _tsquery_phrase(term.english, term.prefix, english_weights)
    spanish = _tsquery_phrase(term.spanish, term.prefix, spanish_weights)
    return f"({english} | {spanish})"


def _tsquery_phrase(stems: tuple[str, ...], prefix: bool, weights: str) -> str:
    last = len(stems) - 1
    return " <-> ".join(
        _tsquery_lexeme(stem, prefix and index == last, weights) for index, stem in enumerate(stems)
    )


def _tsquery_lexeme(stem: str, prefix: bool, weights: str) -> str:
    """One stem, quoted so that no character of it is an operator to to_tsquery
    (the bot's stems hold only letters and digits, so this is belt and braces)."""
    quoted = "'" + stem.replace("\\", "\\\\").replace("'", "''") + "'"
    weights = "" if sorted(weights) == ["A", "B", "C", "D"] else weights
    return f"{quoted}:{'*' if prefix else ''}{weights}" if prefix or weights else quoted
