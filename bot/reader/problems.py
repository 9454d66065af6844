"""What to tell a reader whose search (or subscription) was refused, and why."""

from __future__ import annotations

from bot.formatting import escape, truncate
from bot.i18n import t
from bot.search.query import MAX_PREFIXES, MAX_QUERY_CHARS, MIN_PREFIX_CHARS, QueryProblem


def problem_text(problem: QueryProblem | None, language: str, *, topic: str | None = None) -> str:
    """One answer per problem, the same for /search and /subscribe: a text that
    cannot be searched cannot be followed, for the same reason. `topic` is the
    unknown topic's name as typed."""
    if problem is QueryProblem.TOO_LONG:
        return t(language, "reader.problem_too_long", limit=MAX_QUERY_CHARS)
    if problem is QueryProblem.ONLY_EXCLUDED:
        return t(language, "reader.problem_only_excluded")
    if problem is QueryProblem.UNKNOWN_LANGUAGE:
        return t(language, "reader.problem_unknown_language")
    if problem is QueryProblem.UNKNOWN_TOPIC:
        return t(language, "reader.problem_unknown_topic", topic=escape(truncate(topic or "", 60)))
    if problem is QueryProblem.SHORT_PREFIX:
        return t(language, "reader.problem_short_prefix", letters=MIN_PREFIX_CHARS)
    if problem is QueryProblem.TOO_MANY_PREFIXES:
        return t(language, "reader.problem_too_many_prefixes", limit=MAX_PREFIXES)
    if problem is QueryProblem.TOO_BROAD:
        return t(language, "reader.problem_too_broad")
    return t(language, "reader.problem_empty")


INLINE_PROBLEMS = {
    QueryProblem.SHORT_PREFIX: ("reader.inline_short_prefix", {"letters": MIN_PREFIX_CHARS}),
    QueryProblem.TOO_MANY_PREFIXES: ("reader.inline_too_many_prefixes", {"limit": MAX_PREFIXES}),
    QueryProblem.TOO_BROAD: ("reader.inline_too_broad", {}),
}


def inline_problem_text(problem: QueryProblem | None, language: str) -> str | None:
    """The short plain line an inline answer shows for a refused search, if any
    (other problems just find nothing while the person is still typing)."""
    if problem not in INLINE_PROBLEMS:
        return None
    key, values = INLINE_PROBLEMS[problem]
    return t(language, key, **values)
