"""A deterministic synthetic bilingual corpus shaped like the publication's.

Real archives are not available at benchmark sizes, so articles are generated:
about 70% English and 30% Spanish, titles and summaries as long as the sample
ones in `data/articles.txt`, words drawn from a Zipf-like distribution so a
few words are in most articles and most words in few. The sample's own words
take the top ranks (that is what the real queries will hit), generated words
fill the long tail, and function words keep each text recognisably in its
language. Everything comes from one seeded `random.Random`, so the same seed
gives the same bytes on every machine and every run.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from functools import cache
from html import escape

from bot.config import DATA_DIR
from bot.ingest.entry import Entry

# Bump whenever the output for a given seed changes: it keys the cached databases.
GENERATOR_VERSION = 1
SAMPLE = DATA_DIR / "articles.txt"
SPANISH_SHARE = 0.30
VOCABULARY_SIZE = 30_000  # content words per language
ZIPF_EXPONENT = 1.0
ZIPF_OFFSET = 2.7  # Zipf-Mandelbrot: flattens the very top like real text
FIRST_DAY = 1_199_145_600  # 2008-01-01 UTC
LAST_DAY = 1_751_241_600  # 2025-06-30 UTC

# Function words with rough relative frequencies; they make up ~40% of running
# text and are what tells the languages apart (the project's detector uses them).
_FUNCTION_EN = {
    "the": 6.0, "of": 3.5, "and": 3.0, "to": 2.8, "in": 2.2, "a": 2.0, "is": 1.0,
    "that": 1.0, "for": 0.9, "on": 0.7, "with": 0.7, "as": 0.6, "by": 0.5, "was": 0.5,
    "at": 0.5, "from": 0.5, "their": 0.4, "are": 0.4, "this": 0.4, "it": 0.4, "has": 0.3,
    "have": 0.3, "which": 0.3, "were": 0.3, "an": 0.3, "not": 0.3, "but": 0.3, "they": 0.3,
    "more": 0.2, "than": 0.2, "against": 0.2, "after": 0.2, "its": 0.2, "will": 0.2,
}  # fmt: skip
_FUNCTION_ES = {
    "de": 6.0, "la": 4.0, "que": 3.0, "el": 3.0, "en": 3.0, "y": 2.8, "los": 2.0, "a": 1.8,
    "las": 1.5, "del": 1.2, "se": 1.1, "por": 1.0, "un": 1.0, "una": 0.9, "con": 0.8,
    "para": 0.7, "es": 0.6, "su": 0.5, "al": 0.5, "lo": 0.4, "como": 0.4, "más": 0.4,
    "pero": 0.3, "sus": 0.3, "contra": 0.2, "entre": 0.2, "sobre": 0.2, "también": 0.2,
    "fue": 0.2, "ha": 0.2,
}  # fmt: skip
# Names and set phrases of the sample, emitted whole so phrase queries have
# something to find (and topic keywords such as "lópez obrador" fire).
_PHRASES_EN = (
    "Ciudad Juárez", "López Obrador", "Mexico City", "Mexican Revolution", "working class",
    "United States", "Socialist Left", "gender violence",
)  # fmt: skip
_PHRASES_ES = (
    "Ciudad Juárez", "López Obrador", "Ciudad de México", "Revolución Mexicana",
    "clase obrera", "Estados Unidos", "Izquierda Socialista", "violencia de género",
)  # fmt: skip
_CATEGORIES = ("Mexico", "Migration", "History", "Theory", "Video", "Latin America")

_SAMPLE_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Language:
    """One language's word lists: content words by rank (0 = most frequent)."""

    code: str
    content: tuple[str, ...]
    content_cumulative: tuple[float, ...]
    function: tuple[str, ...]
    function_cumulative: tuple[float, ...]
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    english: Language
    spanish: Language

    def of(self, code: str) -> Language:
        return self.spanish if code == "es" else self.english


@dataclass(frozen=True)
class Article:
    """A generated article: an `Entry` plus what the generator knows about it."""

    entry: Entry
    language: str


def fingerprint() -> str:
    """Identifies the generator's output: its version and the sample it learns from."""
    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()[:8]
    return f"g{GENERATOR_VERSION}-{digest}"


@cache
def vocabulary(seed: int = 7) -> Vocabulary:
    """Both languages' ranked vocabularies (cached: building one takes ~0.1 s)."""
    rng = random.Random(seed)
    sample_en, sample_es = _sample_words()
    taken = set(_FUNCTION_EN) | set(_FUNCTION_ES) | set(sample_en) | set(sample_es)
    english = _language("en", sample_en, _generated(rng, "en", taken), _FUNCTION_EN, _PHRASES_EN)
    spanish = _language("es", sample_es, _generated(rng, "es", taken), _FUNCTION_ES, _PHRASES_ES)
    return Vocabulary(english, spanish)


def articles(
    n: int, *, seed: int = 1, start: int = 0, stop: int | None = None
) -> Iterator[Article]:
    """Articles `start` … `stop - 1` of the `n`-article corpus for `seed`, oldest first.

    Each article has its own generator seeded from (seed, index), so any slice
    can be produced without generating what comes before it.
    """
    words = vocabulary()
    span = LAST_DAY - FIRST_DAY
    for index in range(start, n if stop is None else min(stop, n)):
        rng = random.Random(seed * 1_000_003 + index)
        code = "es" if rng.random() < SPANISH_SHARE else "en"
        language = words.of(code)
        # Ids follow publication order as in a real archive; a little jitter
        # keeps dates from being a perfect function of the id.
        published = FIRST_DAY + span * index // max(n, 1) + rng.randrange(-86_400, 86_400)
        title = _title(rng, language)
        summary = _summary(rng, language)
        url = f"https://news.example.org/{code}/{_slug(title)}-{index}"
        categories = (rng.choice(_CATEGORIES),) if rng.random() < 0.25 else ()
        entry = Entry(
            title=title,
            summary=summary,
            url=url,
            guid=f"news.example.org-{seed}-{index}",
            published_at=published,
            language=None,  # as most feeds: the pipeline detects it
            categories=categories,
        )
        yield Article(entry, code)


def entries(n: int, *, seed: int = 1) -> Iterator[Entry]:
    """The corpus as the `Entry` objects every source is turned into."""
    return (article.entry for article in articles(n, seed=seed))


def batches(n: int, size: int, *, seed: int = 1) -> Iterator[list[Entry]]:
    for start in range(0, n, size):
        yield [a.entry for a in articles(n, seed=seed, start=start, stop=start + size)]


def rss(n: int, *, seed: int = 2, rich: bool = False) -> bytes:
    """An RSS 2.0 document of `n` items, newest first, summaries as escaped HTML.

    `rich`: each item also carries a lead image (`media:content`, two sizes) and
    the whole article in `content:encoded`, four times the summary under
    headings, with a figure and a script a sanitiser must remove."""
    items = []
    for number, article in enumerate(reversed(list(articles(n, seed=seed)))):
        entry = article.entry
        sentences = [s for s in entry.summary.split(". ") if s]
        html = "".join(f"<p>{escape(s.rstrip('.'))}.</p>" for s in sentences)
        categories = "".join(f"<category>{escape(c)}</category>" for c in entry.categories)
        extra = _rich_parts(number, html) if rich else ""
        items.append(
            "<item>"
            f"<title>{escape(entry.title)}</title>"
            f"<link>{escape(entry.url or '')}</link>"
            f'<guid isPermaLink="false">{escape(entry.guid or "")}</guid>'
            f"<pubDate>{formatdate(entry.published_at, usegmt=True)}</pubDate>"
            f"{categories}"
            f"<description>{escape(html)}</description>{extra}"
            "</item>\n"
        )
    namespaces = (
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:media="http://search.yahoo.com/mrss/"'
        if rich
        else ""
    )
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"{namespaces}><channel>'
        "<title>News Example</title><link>https://news.example.org/</link>"
        "<description>Synthetic articles for benchmarks</description>\n"
    )
    return (head + "".join(items) + "</channel></rss>\n").encode("utf-8")


def _rich_parts(number: int, html: str) -> str:
    image = f"https://cdn.news.example.org/{number}"
    body = (
        f'<script>track({number})</script>{html}<figure><img src="/{number}/photo.jpg"'
        ' width="1200" height="800"><figcaption>On the march</figcaption></figure>'
        f"<h2>What happened</h2>{html}<h2>What comes next</h2>{html}"
        f"<blockquote>{html}</blockquote>"
    )
    return (
        f'<media:content url="{image}-320.jpg" medium="image" width="320" height="180"/>'
        f'<media:content url="{image}-1200.jpg" medium="image" type="image/jpeg"'
        ' width="1200" height="675"/>'
        f"<content:encoded>{escape(body)}</content:encoded>"
    )


def _title(rng: random.Random, language: Language) -> str:
    words = _words(rng, language, rng.randint(5, 12), function_share=0.25, phrase_chance=0.05)
    if language.code == "en":
        words = [w if w in _FUNCTION_EN else w[:1].upper() + w[1:] for w in words]
    text = " ".join(words)
    if rng.random() < 0.2:  # "Topic: the story", as many of the sample's titles
        head, _, rest = text.partition(" ")
        text = f"{head}: {rest}" if rest else text
    return text[:1].upper() + text[1:]


def _summary(rng: random.Random, language: Language) -> str:
    remaining = rng.randint(18, 55)
    sentences = []
    while remaining > 0:
        length = min(remaining, rng.randint(8, 22))
        remaining -= length
        words = _words(rng, language, length, function_share=0.42, phrase_chance=0.1)
        sentence = " ".join(words)
        sentences.append(sentence[:1].upper() + sentence[1:] + ".")
    return " ".join(sentences)


def _words(
    rng: random.Random,
    language: Language,
    count: int,
    *,
    function_share: float,
    phrase_chance: float,
) -> list[str]:
    functions = round(count * function_share)
    words = rng.choices(
        language.content, cum_weights=language.content_cumulative, k=count - functions
    )
    words += rng.choices(language.function, cum_weights=language.function_cumulative, k=functions)
    rng.shuffle(words)
    if rng.random() < 0.05:
        words[rng.randrange(len(words))] = str(
            rng.choice((rng.randint(2, 500), rng.randint(1900, 2025)))
        )
    if rng.random() < phrase_chance:
        words[rng.randrange(len(words))] = rng.choice(language.phrases)
    return words


def _slug(title: str) -> str:
    return "-".join(_SAMPLE_WORD.findall(title.lower())[:6])


def _language(
    code: str,
    sample: Sequence[str],
    generated: Sequence[str],
    function: dict[str, float],
    phrases: Sequence[str],
) -> Language:
    # The sample's words spread over the top ranks, one in three, generated
    # words around and after them.
    content: list[str] = []
    rest = iter(generated)
    for word in sample:
        content.append(word)
        content.extend(itertools.islice(rest, 2))
    content.extend(itertools.islice(rest, VOCABULARY_SIZE - len(content)))
    weights = [1.0 / (rank + ZIPF_OFFSET) ** ZIPF_EXPONENT for rank in range(len(content))]
    return Language(
        code=code,
        content=tuple(content),
        content_cumulative=tuple(itertools.accumulate(weights)),
        function=tuple(function),
        function_cumulative=tuple(itertools.accumulate(function.values())),
        phrases=tuple(phrases),
    )


def _sample_words() -> tuple[list[str], list[str]]:
    """The sample's content words, split by the language of the block they occur in.

    Blocks alternate title, summary; only summaries (sentence case) tell a name
    from a word that is capitalised because titles are.
    """
    blocks = [block.strip() for block in SAMPLE.read_text("utf-8").split("\n\n") if block.strip()]
    english: dict[str, None] = {}
    spanish: dict[str, None] = {}
    names: dict[str, str] = {}
    function = set(_FUNCTION_EN) | set(_FUNCTION_ES)
    for position, block in enumerate(blocks):
        tokens = _SAMPLE_WORD.findall(block)
        lowered = [token.lower() for token in tokens]
        spanish_votes = sum(w in _FUNCTION_ES for w in lowered)
        is_spanish = spanish_votes > sum(w in _FUNCTION_EN for w in lowered)
        for token, word in zip(tokens, lowered, strict=True):
            if len(word) < 3 or word in function:
                continue
            if position % 2 == 1 and token[:1].isupper():
                names.setdefault(word, token)
            (spanish if is_spanish else english)[word] = None
    spanish_only = [names.get(w, w) for w in spanish if w not in english]
    shared_names = [names[w] for w in english if w in names]
    return [names.get(w, w) for w in english], spanish_only + shared_names


_SYLLABLES = {
    "en": (
        ("b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "w",
         "b", "c", "d", "l", "m", "n", "p", "r", "s", "t", "br", "pl", "st", "tr", "ch", "th"),
        ("a", "e", "i", "o", "u", "a", "e", "i", "o", "ea", "ou", "ai"),
        ("", "", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "rk", "ck"),
        ("", "", "", "er", "ing", "ment", "ness", "ity", "al", "ism", "ist", "tion", "s"),
    ),
    "es": (
        ("b", "c", "d", "f", "g", "j", "l", "ll", "m", "n", "ñ", "p", "r", "s", "t", "v",
         "b", "c", "d", "l", "m", "n", "p", "r", "s", "t", "ch", "br", "tr", "pr", "qu"),
        ("a", "e", "i", "o", "u", "a", "e", "i", "o", "a", "e", "o", "ia", "ue",
         "á", "é", "í", "ó", "ú"),
        ("", "", "", "", "", "n", "r", "s", "l"),
        ("", "", "", "ción", "dad", "ismo", "ista", "mente", "ado", "ada", "eros", "ía", "es"),
    ),
}  # fmt: skip
_ACCENTS = str.maketrans("áéíóú", "aeiou")


def _generated(rng: random.Random, code: str, taken: set[str]) -> list[str]:
    onsets, vowels, codas, suffixes = _SYLLABLES[code]
    found: list[str] = []
    while len(found) < VOCABULARY_SIZE:
        syllables = rng.choice((1, 2, 2, 2, 3))
        word = "".join(
            rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables)
        )
        word += rng.choice(suffixes)
        if code == "es":
            word = _one_accent(word)
        if len(word) >= 4 and word not in taken:
            taken.add(word)
            found.append(word)
    return found


def _one_accent(word: str) -> str:
    """Spanish writes at most one acute accent per word; keep the last one."""
    last = max(word.rfind(v) for v in "áéíóú")
    if last < 0:
        return word
    return word[:last].translate(_ACCENTS) + word[last:]
