"""Pairs from what the sources say: alternate links, language segments in
addresses, a listing's `Translation:` header.

A source's word is the strongest evidence there is short of an admin's, so these
pairs are made first, as `explicit`, and replace a guess of the text matcher
(never an admin's decision, nor an admin's veto: bot.store.translations.link).
Each article's claims are stored with it and kept, so whichever of the two
versions arrives second completes the pair, in either order, across ingests.

What counts as a claim, once the article's language is known (`claims`):

* an alternate the source gives in another of the publication's languages — a
  feed's `<link rel="alternate" hreflang="es" href="…">` (Atom, or RSS with
  `atom:link`/`xhtml:link`), a listing's `Translation:` (a URL, or `ID:` within
  the same listing);
* the article's own address with its language segment swapped: the first path
  segment that is exactly a language code (`/en/…`, `/es/…`, any case), when it
  is the article's own language, names the same path under the other code
  (`https://example.org/en/2024/story` claims `https://example.org/es/2024/story`).
  Regional segments (`/en-us/`) and translated slugs are not guessed.

Claims are bounded (`MAX_CLAIMS` an article, URLs as the pipeline bounds them),
and a claim that names nothing stored is kept, harmless, until it does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from bot.ingest.entry import Alternate
from bot.languages import LANGUAGES
from bot.store import translation_claims, translations
from bot.store.articles import Claim
from bot.store.db import Database

MAX_CLAIMS: Final = 4
"""Claims kept for one article: one translation, named a few ways at most."""
CLAIMERS_TRIED: Final = 4
"""Older articles claiming one new article that are tried, first come first: a
thousand articles naming the same alternate cost one index range, not a
thousand pairing attempts."""


def swapped_language_url(url: str | None, language: str) -> list[str]:
    """The addresses `url` would have in the other languages, when its path's
    first language segment is `language`'s code; [] otherwise."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    segments = parts.path.split("/")
    for index, segment in enumerate(segments):
        if segment.lower() in LANGUAGES:
            if segment.lower() != language:
                return []
            return [
                urlunsplit(parts._replace(path="/".join(_swap(segments, index, other))))
                for other in LANGUAGES
                if other != language
            ]
    return []


def _swap(segments: list[str], index: int, code: str) -> list[str]:
    return [*segments[:index], code, *segments[index + 1 :]]


def claims(
    alternates: Sequence[Alternate],
    *,
    url: str | None,
    guid: str | None,
    language: str,
    max_url_chars: int,
    bound_guid: Callable[[str], str | None],
) -> tuple[Claim, ...]:
    """What an article in `language` (at `url`, with `guid`) claims its translation
    is: alternates said to be in another language (or in none said, from a
    listing), then its address with the language segment swapped; never itself;
    web addresses only, at most `max_url_chars` long; `MAX_CLAIMS` at most."""
    found: list[Claim] = []
    for alternate in alternates:
        if alternate.language == language:
            continue
        if alternate.url is not None and _usable(alternate.url, max_url_chars):
            if alternate.url != url:
                found.append(("url", alternate.url))
        elif (
            alternate.guid is not None
            and (bounded := bound_guid(alternate.guid))
            and bounded != guid
        ):
            found.append(("guid", bounded))
    found += [("url", other) for other in swapped_language_url(url, language)]
    return tuple(dict.fromkeys(found))[:MAX_CLAIMS]


def _usable(url: str, max_chars: int) -> bool:
    if len(url) > max_chars:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


async def pair_by_links(db: Database, new_ids: Sequence[int], *, now: int) -> int:
    """Complete the pairs the new articles' claims (or older articles' claims on
    them) describe; pairs made. Refusals (a veto, the same language, a partner
    already chosen by a source or an admin) leave things as they are."""
    candidates = await translation_claims.claimed(db, new_ids, per_article=CLAIMERS_TRIED)
    outcomes = await translations.link_many(
        db, candidates, how="explicit", now=now, replace={"text"}
    )
    return outcomes.count("paired")
