"""What a person types, parsed into a query no full-text index can misread.

Supported: words (all must match), `"exact phrase"`, `-excluded`, `prefix*`,
`topic:slug` and `lang:es`. Every word reaches the index as its stems
(`text_match`), which the store quotes in its engine's syntax
(`bot.store.fulltext`), so no user text can be an operator or a syntax error.

The rules on what may be asked live here too, for every way in (/search, plain
text, inline mode, keyword subscriptions): a prefix expands to every indexed
word that starts with it, so it needs `MIN_PREFIX_CHARS` letters (the index
keeps prefixes of those lengths ready) and a query holds at most
`MAX_PREFIXES` of them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.languages import LANGUAGES
from bot.store import fulltext
from bot.text import fold, stem_english, stem_spanish, words

MAX_QUERY_CHARS = 300
MAX_TERMS = 12
MIN_PREFIX_CHARS = 3
MAX_PREFIXES = 2

# Function words dropped from queries (not from phrases) so that
# "the migrants" also finds "Migrantes"; a query of only such words keeps them.
STOPWORDS = frozenset(
    """a an and are as at be by for from in into is it of on or that the this to was with
    al con de del el en es la las lo los o para por que se su sus un una y""".split()
)

_TOKEN = re.compile(
    r"""
    (?P<negate>-)?
    (?:
        (?P<field>topic|tema|lang|idioma):(?:"(?P<fvalue_q>[^"]*)"?|(?P<fvalue>\S*))
      | "(?P<phrase>[^"]*)"?
      | (?P<word>[^\s"]+)
    )
    """,
    re.VERBOSE | re.IGNORECASE,
)


class QueryProblem(enum.Enum):
    """Why there is nothing to search; each has a message in the catalogues."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    ONLY_EXCLUDED = "only_excluded"
    UNKNOWN_LANGUAGE = "unknown_language"
    UNKNOWN_TOPIC = "unknown_topic"
    SHORT_PREFIX = "short_prefix"
    TOO_MANY_PREFIXES = "too_many_prefixes"
    TOO_BROAD = "too_broad"  # not the parser's: the search ran out of its time budget


class QueryError(ValueError):
    def __init__(self, problem: QueryProblem, *, topic: str | None = None):
        super().__init__(problem.value)
        self.problem = problem
        self.topic = topic  # the name no topic answers to, for UNKNOWN_TOPIC


@dataclass(frozen=True)
class Term:
    """One thing to match: a word, a prefix or a phrase (folded words)."""

    words: tuple[str, ...]
    prefix: bool = False

    def text(self) -> str:
        """The term as a query writes it: `word`, `prefix*` or `"a phrase"`."""
        if len(self.words) > 1:
            return '"' + " ".join(self.words) + '"'
        return self.words[0] + ("*" if self.prefix else "")

    def stems(self) -> fulltext.Term:
        """The term as the index holds it: its stems as English and as Spanish."""
        return fulltext.Term(
            tuple(self._stems(stem_english)), tuple(self._stems(stem_spanish)), self.prefix
        )

    def _stems(self, stemmer: Callable[[list[str]], list[str]]) -> list[str]:
        """The stems to match; a prefix the stemmer cuts below MIN_PREFIX_CHARS
        (English `ies` → `ie`) stays as typed, so no prefix is broader than the
        rules allow and each one has its index of ready prefixes."""
        stems = stemmer(list(self.words))
        if self.prefix and len(stems[-1]) < MIN_PREFIX_CHARS:
            stems[-1] = self.words[-1]
        return stems


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()
    topics: tuple[str, ...] = ()
    language: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def has_text(self) -> bool:
        return bool(self.terms)

    def text_match(self) -> fulltext.TextMatch | None:
        """The words to match, as the store takes them; None when only filters were given."""
        if not self.terms:
            return None
        return fulltext.TextMatch(
            tuple(term.stems() for term in self.terms),
            tuple(term.stems() for term in self.excluded),
        )

    def fts(self) -> str | None:
        """The FTS5 MATCH expression, or None when only filters were given."""
        match = self.text_match()
        return None if match is None else fulltext.fts5(match)

    def fts_in_title(self) -> str | None:
        """The matches that have at least one of the terms in their title: these rank first."""
        match = self.text_match()
        return None if match is None else fulltext.fts5_in_title(match)

    def highlight_stems(self) -> frozenset[str]:
        stems: set[str] = set()
        for term in self.terms:
            if not term.prefix:
                stems.update(stem_english(list(term.words)))
                stems.update(stem_spanish(list(term.words)))
        return frozenset(stems)

    def highlight_prefixes(self) -> tuple[str, ...]:
        return tuple(term.words[-1] for term in self.terms if term.prefix)


def parse_query(text: str) -> ParsedQuery:
    """Parse user text; raises QueryError when there is nothing that can be searched."""
    text = text.strip()
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(QueryProblem.TOO_LONG)
    terms: list[Term] = []
    excluded: list[Term] = []
    topics: list[str] = []
    language: str | None = None
    for match in _TOKEN.finditer(text):
        negate = match["negate"] is not None
        if match["field"]:
            value = (match["fvalue_q"] if match["fvalue_q"] is not None else match["fvalue"]) or ""
            value = value.strip()
            if not value:
                continue
            if fold(match["field"]) in ("lang", "idioma"):
                language = fold(value)[:2]
                if language not in LANGUAGES:
                    raise QueryError(QueryProblem.UNKNOWN_LANGUAGE)
            else:
                topics.append(value)
            continue
        if match["phrase"] is not None:
            found = words(match["phrase"])
            if found:
                (excluded if negate else terms).append(Term(tuple(found)))
            continue
        raw = match["word"] or ""
        prefix = raw.endswith("*")
        for index, word in enumerate(found := words(raw)):
            last = index == len(found) - 1
            (excluded if negate else terms).append(Term((word,), prefix=prefix and last))
    terms = _drop_stopwords(terms)
    if len(terms) + len(excluded) > MAX_TERMS:
        raise QueryError(QueryProblem.TOO_LONG)
    if not terms and excluded:
        raise QueryError(QueryProblem.ONLY_EXCLUDED)
    if not terms and not topics and language is None:
        raise QueryError(QueryProblem.EMPTY)
    terms, excluded = _unique(terms), _unique(excluded)
    _check_prefixes([*terms, *excluded])
    return ParsedQuery(tuple(terms), tuple(excluded), tuple(topics), language)


def _check_prefixes(terms: list[Term]) -> None:
    prefixes = [term for term in terms if term.prefix]
    if any(len(term.words[-1]) < MIN_PREFIX_CHARS for term in prefixes):
        raise QueryError(QueryProblem.SHORT_PREFIX)
    if len(prefixes) > MAX_PREFIXES:
        raise QueryError(QueryProblem.TOO_MANY_PREFIXES)


def parse_subscription(text: str) -> ParsedQuery:
    """A keyword subscription's query: a search with words or topics to follow
    (a language alone would follow everything in it)."""
    query = parse_query(text)
    if not query.has_text and not query.topics:
        raise QueryError(QueryProblem.EMPTY)
    return query


def normal_form(query: ParsedQuery) -> str:
    """The one text every way of writing this search shares.

    A subscription is stored as this text, so `Ciudad Juárez`, `juarez ciudad`
    and `the ciudad juarez` are one subscription, found again by any of them:
    the words as the parser keeps them (folded, stop words and repeats gone),
    in sorted order because the words of a search are all required whatever
    their order, while a phrase keeps its own; then the exclusions, the topics
    (folded as the catalogue compares names) and the language. Parsing it again
    gives the same query, and its normal form is itself."""
    pieces = sorted({term.text() for term in query.terms})
    pieces += sorted({"-" + term.text() for term in query.excluded})
    for name in sorted({" ".join(words(name)) for name in query.topics} - {""}):
        pieces.append(f'topic:"{name}"' if " " in name else f"topic:{name}")
    if query.language is not None:
        pieces.append(f"lang:{query.language}")
    return " ".join(pieces)


PREFIX_PROBLEMS = frozenset({QueryProblem.SHORT_PREFIX, QueryProblem.TOO_MANY_PREFIXES})


def within_prefix_rules(text: str) -> str | None:
    """A keyword subscription written before the prefix rules, brought within
    them: prefixes too short, and those after the MAX_PREFIXES-th, are left out
    and everything else is kept as written. The text itself when it already
    complies (or fails for another reason, which these rules do not change);
    None when nothing that can be followed is left."""
    try:
        parse_subscription(text)
    except QueryError as exc:
        if exc.problem not in PREFIX_PROBLEMS:
            return text
    else:
        return text
    pieces: list[str] = []
    kept: set[str] = set()
    for match in _TOKEN.finditer(text):
        raw = match["word"]
        found = words(raw) if raw is not None and raw.endswith("*") else []
        if not found:
            pieces.append(match[0])
            continue
        prefix = found[-1]
        if len(prefix) >= MIN_PREFIX_CHARS and (prefix in kept or len(kept) < MAX_PREFIXES):
            kept.add(prefix)
            pieces.append(match[0])
            continue
        negate = "-" if match["negate"] else ""
        pieces += [negate + word for word in found[:-1]]
    repaired = " ".join(pieces)
    try:
        parse_subscription(repaired)
    except QueryError:
        return None
    return repaired


def _drop_stopwords(terms: list[Term]) -> list[Term]:
    kept = [t for t in terms if len(t.words) > 1 or t.prefix or t.words[0] not in STOPWORDS]
    return kept or terms


def _unique(terms: list[Term]) -> list[Term]:
    return list(dict.fromkeys(terms))
