"""Bilingual full-text search: user text in, a safe FTS5 query out.

`text` folds and stems words the same way for the index and for queries;
`query` parses what a person types; `snippet` marks the matching words of a
hit in its original text; `follow` says what a /subscribe text follows, in
the one form it is stored in.
"""

from bot.search.query import ParsedQuery, QueryProblem, parse_query
from bot.search.snippet import Segment, make_snippet
from bot.text import IndexedText, index_text

__all__ = [
    "IndexedText",
    "ParsedQuery",
    "QueryProblem",
    "Segment",
    "index_text",
    "make_snippet",
    "parse_query",
]
