"""Pairs from the text: what survives translation, precision first.

Two versions of one story rarely share a sentence, but they share what a
translator leaves alone: names and places ("Ciudad Juárez"), numbers and dates
("1.2 million" is "1,2 millones", "March 27" is "27 de marzo"), the stems of
cognates ("migrants"/"migrantes", "capitalism"/"capitalismo": each word stemmed
in its own language, accents folded, cut to a short prefix) and the topics the
catalogue tags in either language. Each article becomes a set of such keys,
weighted by how rare they are among the articles compared (a word in every
article says nothing), and two articles score the cosine of their weighted
sets.

A pair is made only when the evidence is strong (a high score and several
shared keys) and unambiguous: each must be the other's best match, and each
one's best must clearly beat its second best. A wrong pair shows a reader the
wrong story under a flag; a missing one only shows a story twice, so every
doubt leaves the articles single.

The cost stays bounded on any batch: keys are worked out once per article,
as it is stored, from the words and stems ingest has for the search index, and
read back with it (an article stored before that has them derived from its
text; an ingest's arrivals are not read back at all); candidates come only
through keys that are rare within a time window (an article and its
translation share some: where the window holds few articles, every key is),
and only the few best of those are scored in full, so a batch of a thousand
near-identical articles compares nothing rather than everything with
everything.
"""

from __future__ import annotations

import gc
import heapq
import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Final

from bot.store import translations
from bot.store.db import Database
from bot.store.translations import StoryText
from bot.text import fold, stem_english, stem_spanish

# Thresholds, tuned on the evaluation set (tests/data/translations); few on purpose.
MIN_SCORE: Final = 0.15
"""Cosine of the two articles' weighted keys below which they are not the same story."""
MIN_SHARED: Final = 4
"""Distinct keys the two must share: a short text can score high on two words by chance."""
MAX_RUNNER_UP: Final = 0.75
"""The second best, for either article, may score at most this share of the best:
two near-equal candidates mean the text cannot tell which is the translation."""

# Bounds on the work, whatever the batch.
BLOCK_MAX_DF: Final = 40
"""A key shared by more articles than this in one time slice finds no candidates
(it still counts in the score): common words would make the comparison quadratic."""
CANDIDATES: Final = 12
"""Candidates scored in full per article, the ones sharing the most rare keys."""

SMALL_POOL: Final = 50
"""Articles a rarity is reckoned among at least, so a lone arrival is judged as in a busy week."""

PREFIX: Final = 5
"""Letters of a stem kept as its cognate key: "catastroph" and "catastrof" meet at
"catas"; shorter prefixes join unrelated words, longer ones split cognates."""

# Key kinds and their weights: a name or a number is stronger evidence than a
# cognate stem, a topic (already a summary of the words) weaker.
_COGNATE, _NAME, _AMOUNT, _DATE, _YEAR, _TOPIC = "c", "n", "#", "d", "y", "t"
_WEIGHT: Final = {_COGNATE: 1.0, _NAME: 1.5, _AMOUNT: 1.5, _DATE: 2.0, _YEAR: 1.0, _TOPIC: 0.5}

# Function words of four letters or more (folded), which could otherwise meet
# across the languages by their prefix ("contra"/"contract", "entre"/"entrepreneur").
_FUNCTION_WORDS: Final = frozenset(
    """about above after again against also among because been before being below between
    both could does doing down during each even from further have having here into just
    more most much must never once only other over same should since some such than that
    their them then there these they this those through under until upon very were what
    when where which while will with would your said says like many well
    ademas algo algun alguna ante antes aquel aquella aquellos cada como contra cual cuando
    desde donde durante ella ellos entre esta estaba estan estas este esto estos fueron
    gran hacia hasta hace hacer habia mientras mismo mucho muchos muy nada nosotros nuestra
    nuestro otra otras otro otros para pero poco porque puede sido siendo sobre solo tambien
    tanto tiene tienen toda todas todo todos tras unas unos usted segun sino ahora""".split()
)

_MONTHS: Final = {
    **{
        name: number
        for number, names in enumerate(
            (
                "january enero",
                "february febrero",
                "march marzo",
                "april abril",
                "may mayo",
                "june junio",
                "july julio",
                "august agosto",
                "september sept septiembre setiembre",
                "october octubre",
                "november noviembre",
                "december diciembre",
            ),
            start=1,
        )
        for name in names.split()
    }
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de\s+|of\s+)?({_MONTH})\b")
_MONTH_DAY = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b")
_NUMBER = re.compile(
    r"(?<![\w.,])(\d+(?:[.,]\d+)*)(?:\s*(%|por ciento|percent|per cent|mil millones|"
    r"billones|billon|billions?|millones|millon|millions?|thousands?|mil)\b)?"
)
_SCALES: Final = {
    "mil millones": 1e9,
    "billion": 1e9,
    "billions": 1e9,
    "millones": 1e6,
    "millon": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "thousand": 1e3,
    "thousands": 1e3,
    "mil": 1e3,
    # A Spanish "billón" is a million million.
    "billon": 1e12,
    "billones": 1e12,
}
_PERCENT: Final = frozenset({"%", "por ciento", "percent", "per cent"})
_CASED_WORD = re.compile(r"[^\W\d_]+")
_NAME_TOKEN = re.compile(r"[^\W\d_]+|[.!?:;\"“”«»()\[\]¡¿|–—]+|\s-\s")
"""A word (letters only), or a clause mark: a word's first character is a
letter, a clause mark's never is (nor a digit)."""


@dataclass(frozen=True)
class Match:
    """Two articles the text says are one story, and how strongly."""

    first_id: int
    second_id: int
    score: float


@dataclass
class Work:
    """What a matching pass did, for the tests and the bench: its cost is bounded
    by the number of articles, never their square."""

    articles: int = 0
    scored: int = 0
    """Pairs of articles scored in full."""
    matches: list[Match] = field(default_factory=list)


def keys(text: StoryText) -> set[str]:
    """The article's features that survive translation, each a string key
    prefixed by its kind: its text's (`text_keys`, or those stored with it) and
    its topics'. Topics are read at matching time, never stored with the keys,
    as the catalogue may re-tag an article after it was stored."""
    found = (
        set(text.keys)
        if text.keys is not None
        else text_keys(text.title, text.summary, text.language)
    )
    found.update(f"{_TOPIC}:{topic}" for topic in text.topics)
    return found


Indexed = tuple[str, Sequence[str], Sequence[str]]
"""A text as ingest has it already: folded, its words (`bot.text.WORD`) and
their stems in the article's language."""


def text_keys(
    title: str, summary: str, language: str, indexed: tuple[Indexed, Indexed] | None = None
) -> set[str]:
    """The keys of an article's title and summary, topics aside. `indexed`:
    the two folded, split and stemmed as ingest already did for the search
    index (`bot.ingest.pipeline.prepare`), so nothing is done twice; the keys
    are the same either way (a test checks)."""
    found: set[str] = set()
    if indexed is None:
        _part_keys(fold(title), language, found)
        _part_keys(fold(summary), language, found)
    else:
        for folded, words, stems in indexed:
            _part_keys(folded, language, found, (words, stems))
    found.update(_names(title, summary, language))
    return found


_DIGIT = re.compile(r"\d")


def _part_keys(
    folded: str,
    language: str,
    found: set[str],
    words_and_stems: tuple[Sequence[str], Sequence[str]] | None = None,
) -> None:
    """One part's dates, numbers and cognates into `found`.

    Every date and number has a digit: a text without one (most headlines, many
    summaries) skips their patterns, and its words are then exactly the index's
    (which split as the cognates do but for digits), stems and all."""
    if _DIGIT.search(folded) is None:
        if words_and_stems is None:
            words = _CASED_WORD.findall(folded)
            _spelt_numbers(words, found, language)
            found.update(_cognates(words, language))
            return
        index_words, stems = words_and_stems
        _spelt_numbers(index_words, found, language)
        found.update(
            f"{_COGNATE}:{stem[:PREFIX] if len(stem) >= PREFIX else word[:PREFIX]}"
            for word, stem in zip(index_words, stems, strict=True)
            if len(word) >= 4 and word not in _FUNCTION_WORDS
        )
        return
    folded = _dates(folded, found)
    words = _CASED_WORD.findall(folded)
    _spelt_numbers(words, found, language)
    _numbers(folded, found)
    # The index's words split at letters and digits alike ("27th" is one word
    # there, "th" here), so its stems serve only the words it has: a word is
    # stemmed the same whatever its neighbours.
    known = None if words_and_stems is None else dict(zip(*words_and_stems, strict=True))
    found.update(_cognates(words, language, known))


def _dates(folded: str, found: set[str]) -> str:
    """Day-and-month mentions as `d:MM-DD` (and their month as a cognate would be,
    `m`), removed from the text so the day is not also a bare number."""

    def day_month(match: re.Match[str]) -> str:
        day, month = int(match[1]), _MONTHS[match[2]]
        if 1 <= day <= 31:
            found.add(f"{_DATE}:{month:02}-{day:02}")
        return " "

    def month_day(match: re.Match[str]) -> str:
        month, day = _MONTHS[match[1]], int(match[2])
        if 1 <= day <= 31:
            found.add(f"{_DATE}:{month:02}-{day:02}")
        return " "

    return _MONTH_DAY.sub(month_day, _DAY_MONTH.sub(day_month, folded))


_NUMBER_WORDS: Final = {
    "en": dict(
        zip(
            "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty"
            " forty fifty hundred".split(),
            (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 20, 30, 40, 50, 100),
            strict=True,
        )
    ),
    "es": dict(
        zip(
            "dos tres cuatro cinco seis siete ocho nueve diez once doce quince veinte treinta"
            " cuarenta cincuenta cien".split(),
            (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 20, 30, 40, 50, 100),
            strict=True,
        )
    ),
}
"""Small numbers a writer spells out in one language and not the other ("ten days",
"10 días"); not "one"/"uno", which are also articles and pronouns."""


def _spelt_numbers(words: Sequence[str], found: set[str], language: str) -> None:
    spelt = _NUMBER_WORDS.get(language, _NUMBER_WORDS["en"])
    found.update(f"{_AMOUNT}:{spelt[w]}" for w in spelt.keys() & words)


def _numbers(folded: str, found: set[str]) -> None:
    """Numbers as values, whichever separators the language uses, with their
    scale word: "1.2 million", "1,2 millones" and "1,200,000" are one key."""
    for match in _NUMBER.finditer(folded):
        value = _value(match[1])
        if value is None:
            continue
        unit = match[2]
        if unit in _PERCENT:
            found.add(f"{_AMOUNT}:{value:g}%")
            continue
        if unit:
            value *= _SCALES[unit]
        elif value.is_integer() and 1800 <= value <= 2100:
            found.add(f"{_YEAR}:{value:.0f}")
            continue
        found.add(f"{_AMOUNT}:{value:g}")


def _value(digits: str) -> float | None:
    """A written number's value. Both languages' conventions are in use (Mexico
    writes 1,200.5 as the US does; Spain 1.200,5), so the separators decide: of
    two kinds, the last is the decimal point; one kind repeated, or once before
    exactly three digits, groups thousands; else it is the decimal point."""
    separators = [c for c in digits if c in ".,"]
    if not separators:
        return float(digits)
    if len(set(separators)) == 2:
        decimal = separators[-1]
        whole, _, fraction = digits.rpartition(decimal)
        return _float(whole.replace("." if decimal == "," else ",", ""), fraction)
    mark = separators[0]
    groups = digits.split(mark)
    if len(groups) > 2 or len(groups[1]) == 3:
        return float("".join(groups)) if all(len(g) == 3 for g in groups[1:]) else None
    return _float(groups[0], groups[1])


def _float(whole: str, fraction: str) -> float | None:
    try:
        return float(f"{whole}.{fraction}")
    except ValueError:
        return None


def _cognates(
    all_words: list[str], language: str, known: dict[str, str] | None = None
) -> list[str]:
    """Each content word's stem in its own language, cut to `PREFIX` letters.
    `known`: stems already worked out for some of the words (by the index)."""
    words = [w for w in all_words if len(w) >= 4 and w not in _FUNCTION_WORDS]
    stem = stem_spanish if language == "es" else stem_english
    if known is None:
        stems = stem(words)
    else:
        unknown = [w for w in words if w not in known]
        if unknown:
            known = known | dict(zip(unknown, stem(unknown), strict=True))
        stems = [known[w] for w in words]
    # A stem shorter than the prefix is a stemmer's guess at a name or a short
    # word ("ciudad" stems to "ciud" in Spanish, "ciudad" in English): the word's
    # own opening is then the surer key.
    return [
        f"{_COGNATE}:{stem[:PREFIX] if len(stem) >= PREFIX else word[:PREFIX]}"
        for word, stem in zip(words, stems, strict=True)
    ]


def _names(title: str, summary: str, language: str) -> set[str]:
    """Capitalised words inside a clause (a clause's first word is capitalised
    anyway), folded, alone and as runs ("ciudad juarez"), and acronyms anywhere.
    An English headline in title case capitalises every word, so only its
    acronyms count; its names are found again in the summary."""
    found: set[str] = set()
    title_case = language != "es" and _title_case(title)
    for part, names_too in ((title, not title_case), (summary, True)):
        # The part's words and clause marks in one pass; only the words that are
        # not all lower case are looked at (a clause mark never passes: it has
        # no capital).
        tokens = _NAME_TOKEN.findall(part)
        run: list[str] = []
        last = -2
        for i in [i for i, token in enumerate(tokens) if not token.islower()]:
            word = tokens[i]
            acronym = len(word) >= 2 and word.isupper()
            # Inside a clause: the token before is a word, not a clause mark.
            name = names_too and i > 0 and tokens[i - 1][0].isalnum() and word[0].isupper()
            if not (acronym or name):
                continue
            folded = fold(word)
            if folded in _FUNCTION_WORDS or len(folded) < 3:
                continue
            found.add(f"{_NAME}:{folded}")
            if i != last + 1:
                # A word between (or a clause's end) broke the run.
                if len(run) > 1:
                    found.add(f"{_NAME}:{' '.join(run)}")
                run = []
            run.append(folded)
            last = i
        if len(run) > 1:
            found.add(f"{_NAME}:{' '.join(run)}")
    return found


def _title_case(title: str) -> bool:
    long_words = [w for w in _CASED_WORD.findall(title) if len(w) >= 4]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) * 2 > len(long_words)


def find_pairs(
    texts: Sequence[StoryText],
    new_ids: Collection[int],
    *,
    window: int,
    vetoed: Collection[tuple[int, int]] = (),
) -> Work:
    """The pairs the text supports between the new articles and the others.

    `texts` is every article still single that may take part (the new ones and
    those within twice the window of them, so each candidate's own rivals are
    seen too); `window` is in seconds; `vetoed` lists (low id, high id) pairs an
    admin has parted."""
    # The pass builds a set, list or dict per article and per key, none of them
    # in a cycle and all dropped together when it returns: the cyclic
    # collector's passes over them, a fifth of the pass's time on a large
    # batch, would free nothing. It is paused meanwhile (the pass never awaits).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _find_pairs(texts, new_ids, window=window, vetoed=vetoed)
    finally:
        if collecting:
            gc.enable()


def _find_pairs(
    texts: Sequence[StoryText],
    new_ids: Collection[int],
    *,
    window: int,
    vetoed: Collection[tuple[int, int]],
) -> Work:
    work = Work(articles=len(texts))
    if window <= 0 or len(texts) < 2 or len({t.language for t in texts}) < 2:
        return work
    by_id = {t.id: t for t in texts}
    features = {t.id: keys(t) for t in texts}
    frequency = Counter(chain.from_iterable(features.values()))
    # As if among at least SMALL_POOL articles: in a pool of two, the words the two
    # share would otherwise count as common and weigh nothing.
    total = len(texts) + SMALL_POOL
    # A key's rarity depends only on how many articles have it, and most keys
    # share a handful of counts: one logarithm per count, not per key.
    rarity = {count: math.log(total / (count + 0.5)) for count in set(frequency.values())}
    weight = {key: (_WEIGHT[key[0]] * rarity[count]) ** 2 for key, count in frequency.items()}
    norm = {
        article_id: math.sqrt(sum(map(weight.__getitem__, found))) or 1.0
        for article_id, found in features.items()
    }
    slice_of = {t.id: t.at // window for t in texts}
    languages = {t.language for t in texts}
    # Each language's articles by time slice: an article's candidates are in
    # its own slice and the two beside it.
    sliced: dict[str, defaultdict[int, list[int]]] = {
        language: defaultdict(list) for language in languages
    }
    for t in texts:
        sliced[t.language][slice_of[t.id]].append(t.id)
    postings: dict[str, dict[str, list[int]]] = {}
    vetoes = set(vetoed)
    ranked: dict[int, list[tuple[float, int, int]]] = {}

    def best(article_id: int) -> list[tuple[float, int, int]]:
        """The article's two best-scoring candidates: (score, shared keys, id)."""
        if article_id in ranked:
            return ranked[article_id]
        text = by_id[article_id]
        mine = features[article_id]
        slice_ = text.at // window
        # Same-language articles are never counted, so they cannot crowd the
        # other language's out of the few candidates.
        near = [
            other
            for language in languages - {text.language}
            for at in (slice_ - 1, slice_, slice_ + 1)
            for other in sliced[language].get(at, ())
        ]
        rough: dict[int, float]
        if len(near) <= BLOCK_MAX_DF:
            # Too few for any key to be common among them: each that shares a
            # key is ranked by all it shares, as the postings would rank it.
            rough = {}
            for other in near:
                shared = mine & features[other]
                if shared:
                    rough[other] = sum(map(weight.__getitem__, shared))
        else:
            if not postings:
                postings.update(_postings(texts, features, frequency, slice_of, languages))
            rough = defaultdict(float)
            filed = postings[text.language]
            for key in filed.keys() & mine:
                posting = filed[key]
                if len(posting) <= BLOCK_MAX_DF:
                    # Too short for any slice's run to be too common: a scan is
                    # quicker than bisection (and meets the slices in the same order).
                    for other in posting:
                        if abs(slice_of[other] - slice_) <= 1:
                            rough[other] += weight[key]
                    continue
                start = bisect_left(posting, slice_ - 1, key=slice_of.__getitem__)
                for at in (slice_ - 1, slice_, slice_ + 1):
                    end = bisect_right(posting, at, lo=start, key=slice_of.__getitem__)
                    if end - start <= BLOCK_MAX_DF:
                        for other in posting[start:end]:
                            rough[other] += weight[key]
                    start = end
        scored: list[tuple[float, int, int]] = []
        for other in heapq.nlargest(CANDIDATES, rough, key=rough.__getitem__):
            candidate = by_id[other]
            if (
                other == article_id
                or candidate.language == text.language
                or abs(candidate.at - text.at) > window
                or (min(other, article_id), max(other, article_id)) in vetoes
            ):
                continue
            shared = mine & features[other]
            work.scored += 1
            score = sum(weight[key] for key in shared) / (norm[article_id] * norm[other])
            scored.append((score, len(shared), other))
        scored.sort(reverse=True)
        ranked[article_id] = scored[:2]
        return ranked[article_id]

    paired: set[int] = set()
    for article_id in new_ids:
        if article_id not in by_id or article_id in paired:
            continue
        mine = best(article_id)
        if not _clear(mine):
            continue
        score, _, other = mine[0]
        theirs = best(other)
        if other in paired or not _clear(theirs) or theirs[0][2] != article_id:
            continue
        paired.update((article_id, other))
        work.matches.append(Match(article_id, other, round(score, 4)))
    return work


def _postings(
    texts: Sequence[StoryText],
    features: dict[int, set[str]],
    frequency: Counter[str],
    slice_of: dict[int, int],
    languages: set[str],
) -> dict[str, dict[str, list[int]]]:
    """The articles that have a key, filed under the language each is a
    candidate for (not its own), in the order of their time slices: where an
    article's neighbourhood is busy, a key is rare or common there, and a
    slice's run of a posting longer than BLOCK_MAX_DF finds no candidates. One
    list per key rather than one per key and slice: an archive spread over many
    slices would otherwise make tens of thousands of one-article lists."""
    postings: dict[str, defaultdict[str, list[int]]] = {
        language: defaultdict(list) for language in languages
    }
    # A key only one article has finds no candidate.
    common = {key for key, count in frequency.items() if count > 1}
    for t in sorted(texts, key=lambda t: slice_of[t.id]):
        for language in languages - {t.language}:
            filed = postings[language]
            for key in features[t.id] & common:
                filed[key].append(t.id)
    return dict(postings)


def _clear(ranked: list[tuple[float, int, int]]) -> bool:
    """The best candidate is strong evidence and clearly ahead of the second."""
    if not ranked:
        return False
    score, shared, _ = ranked[0]
    if score < MIN_SCORE or shared < MIN_SHARED:
        return False
    return len(ranked) < 2 or ranked[1][0] <= MAX_RUNNER_UP * score


async def pair_by_text(
    db: Database,
    new_ids: Sequence[int],
    *,
    now: int,
    window_days: int,
    arrivals: Sequence[StoryText] | None = None,
) -> int:
    """Pair each new article still single with the one article in the other
    language whose text is strong evidence of the same story; pairs made.
    `window_days` 0 turns matching from the text off. `arrivals`: the new
    articles as ingest stored them (`translations.arriving`), so they are not
    read back."""
    if window_days <= 0 or not new_ids:
        return 0
    window = window_days * 86_400
    if arrivals is None:
        new = await translations.single_texts(db, new_ids)
    else:
        single = set(await translations.unpaired(db, [t.id for t in arrivals]))
        new = [t for t in arrivals if t.id in single]
    if not new:
        return 0
    languages = {t.language for t in new}
    if len(languages) == 1 and not await translations.single_other_language_near(
        db, languages.pop(), [t.at for t in new], reach=window
    ):
        # A candidate is within the window and in the other language: none is.
        return 0
    pool = await translations.single_texts_near(
        db, [t.at for t in new], reach=2 * window, besides=new if arrivals is not None else ()
    )
    ids = [t.id for t in pool]
    work = find_pairs(
        pool,
        [t.id for t in new],
        window=window,
        vetoed=await translations.vetoes_among(db, ids),
    )
    outcomes = await translations.link_many(
        db,
        [(found.first_id, found.second_id) for found in work.matches],
        how="text",
        now=now,
        scores=[found.score for found in work.matches],
    )
    return outcomes.count("paired")
