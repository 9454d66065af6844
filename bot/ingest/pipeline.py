"""From entries to stored, tagged, searchable articles.

`prepare` is pure (size caps, language, dedup hash, index columns, topics);
`ingest` stores a batch in one transaction and reports how many were new.

The caps are the one place where a source's sizes are bounded, whatever the
source: a hostile feed can put megabytes in one title, and nothing a reader
sees needs more than the first lines of a summary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import bot.metrics as metrics
from bot.config import Settings
from bot.ingest import matching
from bot.ingest.alternates import claims
from bot.ingest.entry import Entry
from bot.ingest.language import detect_language
from bot.ingest.pairing import DEFAULT_WINDOW_DAYS, pair_arrivals
from bot.ingest.text import clip
from bot.store import articles, topics, translations
from bot.store.db import Database
from bot.text import WORD, IndexedText, fold, index_text, stem_english, stem_spanish
from bot.topics import Catalogue

MAX_TITLE_CHARS: Final = 300
"""Longer than any real headline; a longer one is cut at a word, with an ellipsis."""
MAX_SUMMARY_CHARS: Final = 2_000
"""A lede or two: what excerpts, digests and the search index use. Full-text
feeds keep their opening, cut at a word, with an ellipsis."""
MAX_URL_CHARS: Final = 2_048
"""Longer links are dropped (the article is kept): browsers and Telegram balk at them."""
MAX_GUID_CHARS: Final = 512
"""Longer identifiers are stored as their hash, which still tells articles apart."""
MAX_CATEGORIES: Final = 50
"""Categories a source may give one entry; only the first ones are matched to topics."""
MAX_CATEGORY_CHARS: Final = 200
"""A category's length kept (and matched): a topic's name is a few words."""
DEFAULT_MAX_AGE_DAYS: Final[int] = Settings.model_fields["digest_max_age_days"].default
"""DIGEST_MAX_AGE_DAYS's default, for callers without settings at hand."""


@dataclass(frozen=True)
class IngestReport:
    source: str
    seen: int
    new_ids: tuple[int, ...]

    @property
    def new(self) -> int:
        return len(self.new_ids)


def content_hash(title: str, summary: str) -> str:
    """Same words, same article: case, accents and spacing do not count."""
    normal = " ".join(fold(title).split()) + "\n" + " ".join(fold(summary).split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:32]


def prepare(
    entry: Entry,
    *,
    source: str,
    catalogue: Catalogue,
    now: int,
    feed_id: int | None = None,
    feed_language: str | None = None,
    language_override: str | None = None,
    position: int = 0,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    story_keys: bool = True,
) -> articles.NewArticle:
    """An entry made ready to store. Undated entries keep the source's order
    (the first is the newest) by counting back one second per position from
    `now`, and are marked undated, so that time orders them but is never shown
    as their date. An entry published more than `max_age_days` before `now` is a
    source's back catalogue, marked to stay out of digests (DIGEST_MAX_AGE_DAYS).

    Language: the entry's own declaration, else the operator's setting for the
    feed (`language_override`), else detection from the text, with the feed's
    declared language (`feed_language`) deciding only when the text is silent.

    `story_keys`: also work out what the text offers the translation matcher,
    from the words and stems the index needs anyway (ingest asks for them when
    it pairs from the text)."""
    title = clip(entry.title, MAX_TITLE_CHARS)
    summary = clip(entry.summary, MAX_SUMMARY_CHARS)
    folded_title, folded_summary = fold(title), fold(summary)
    title_words, summary_words = WORD.findall(folded_title), WORD.findall(folded_summary)
    title_text = IndexedText(stem_english(title_words), stem_spanish(title_words))
    summary_text = IndexedText(stem_english(summary_words), stem_spanish(summary_words))
    language = (
        entry.language
        or language_override
        or detect_language(f"{title}\n{summary}", default=feed_language or "en")
    )
    keys = None
    if story_keys:
        # The matcher stems each word in the article's own language.
        own_title, own_summary = (
            (title_text.spanish, summary_text.spanish)
            if language == "es"
            else (title_text.english, summary_text.english)
        )
        keys = matching.text_keys(
            title,
            summary,
            language,
            ((folded_title, title_words, own_title), (folded_summary, summary_words, own_summary)),
        )
    categories = tuple(
        clip(category, MAX_CATEGORY_CHARS) for category in entry.categories[:MAX_CATEGORIES]
    )
    url = entry.url if entry.url is None or len(entry.url) <= MAX_URL_CHARS else None
    guid = _bounded_guid(entry.guid)
    return articles.NewArticle(
        source=source,
        guid=guid,
        url=url,
        title=title,
        summary=summary,
        language=language,
        published_at=entry.published_at if entry.published_at is not None else now - position,
        fetched_at=now,
        dated=entry.published_at is not None,
        backfill=entry.published_at is not None
        and entry.published_at < now - max_age_days * 86_400,
        content_hash=content_hash(title, summary),
        title_en=title_text.column("en"),
        title_es=title_text.column("es"),
        summary_en=summary_text.column("en"),
        summary_es=summary_text.column("es"),
        topics=tuple(
            catalogue.tag(
                IndexedText(
                    title_text.english + summary_text.english,
                    title_text.spanish + summary_text.spanish,
                ),
                categories,
            )
        ),
        feed_id=feed_id,
        image=entry.image,
        content=entry.content,
        claims=claims(
            entry.alternates,
            url=url,
            guid=guid,
            language=language,
            max_url_chars=MAX_URL_CHARS,
            bound_guid=_bounded_guid,
        ),
        story_keys=None if keys is None else tuple(keys),
        categories=categories,
    )


def _bounded_guid(guid: str | None) -> str | None:
    if guid is None or len(guid) <= MAX_GUID_CHARS:
        return guid
    return "sha256:" + hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()


async def ingest(
    db: Database,
    entries: Sequence[Entry],
    *,
    source: str,
    catalogue: Catalogue,
    now: int,
    feed_id: int | None = None,
    feed_language: str | None = None,
    language_override: str | None = None,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    pair_window_days: int = DEFAULT_WINDOW_DAYS,
) -> IngestReport:
    prepared = [
        prepare(
            entry,
            source=source,
            catalogue=catalogue,
            now=now,
            feed_id=feed_id,
            feed_language=feed_language,
            language_override=language_override,
            position=position,
            max_age_days=max_age_days,
            story_keys=pair_window_days > 0,
        )
        for position, entry in enumerate(entries)
    ]
    stored = await articles.insert_with_ids(db, prepared)
    new_ids = [article_id for article_id, _ in stored]
    metrics.ARTICLES_INGESTED.inc(len(new_ids))
    await pair_arrivals(
        db,
        new_ids,
        now=now,
        window_days=pair_window_days,
        arrivals=[translations.arriving(article_id, article) for article_id, article in stored],
    )
    return IngestReport(source=source, seen=len(entries), new_ids=tuple(new_ids))


async def retag(db: Database, catalogue: Catalogue, *, batch: int = 2_000) -> int:
    """Re-tag every stored article from the current catalogue; articles changed."""
    changed = 0
    after = 0
    while rows := await topics.article_texts(db, after_id=after, limit=batch):
        tags = {
            article_id: catalogue.tag(index_text(text), categories)
            for article_id, text, categories in rows
        }
        changed += await topics.replace_tags(db, tags)
        after = rows[-1][0]
    return changed
