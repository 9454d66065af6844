"""Which version of a paired story a reader sees: the one rule, here.

The publication writes many stories in both languages, and the store pairs the
two versions (`bot.store.translations`). A reader gets such a story once: as
its version in the reader's language — the "Articles in" setting, else the
interface language (`reading_language`) — with the other version named by its
title under it (`Article.translation`, which `bot.formatting` renders as a
flagged link). Searches, /latest, topic views, inline answers, digests, channel
posts and the CLI all come through here.

Lists that page with offsets are collapsed in SQL first (`articles.search` and
`articles.latest` with `prefer`, see `ONE_PER_STORY` there), so a page holds
as many stories as it asks for and its offsets count stories; `one_per_story`
then puts the preferred version in place of one whose partner was not listed,
and attaches the link: one batched lookup of the page's partners, and one of
the swapped-in articles when there are any. A digest's new articles are all in
memory: `Versions` does the same over them without a query.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.store import articles, translations
from bot.store.articles import Article, Translation
from bot.store.db import Database
from bot.store.translations import Partner


def reading_language(article_language: str | None, ui_language: str) -> str:
    """The language a reader reads a paired story in: the "Articles in" setting
    when it names one, else the language the bot speaks to them."""
    return article_language or ui_language


def _translation(partner: Partner) -> Translation:
    return Translation(partner.id, partner.language, partner.title, partner.url)


def _as_translation(article: Article) -> Translation:
    return Translation(article.id, article.language, article.title, article.url)


def with_translation(article: Article, partner: Partner | None) -> Article:
    """The article carrying the link to its other version (itself when unpaired)."""
    if partner is None:
        return article
    return dataclasses.replace(article, translation=_translation(partner))


def _prefers(partner: Partner, article: Article, prefer: str) -> bool:
    """Whether the reader reads the story as `partner` rather than `article`."""
    return partner.language == prefer and article.language != prefer


async def one_per_story(db: Database, found: Sequence[Article], prefer: str) -> list[Article]:
    """`found` (in order) with each paired story once, as its version in `prefer`,
    carrying the link to the other version. A story both of whose versions are
    in `found` is shown where the first of them is."""
    if not found:
        return []
    partner_of = await translations.partners(db, [article.id for article in found])
    if not partner_of:
        return list(found)
    swaps = [
        partner.id
        for article in found
        if (partner := partner_of.get(article.id)) is not None
        and _prefers(partner, article, prefer)
    ]
    fetched = {article.id: article for article in await articles.get_many(db, swaps)}
    shown: list[Article] = []
    seen: set[int] = set()
    for article in found:
        partner = partner_of.get(article.id)
        if partner is None:
            shown.append(article)
            continue
        story = min(article.id, partner.id)
        if story in seen:
            continue
        seen.add(story)
        swapped = fetched.get(partner.id) if _prefers(partner, article, prefer) else None
        if swapped is None:
            shown.append(with_translation(article, partner))
        else:
            shown.append(dataclasses.replace(swapped, translation=_as_translation(article)))
    return shown


@dataclass(frozen=True)
class Versions:
    """The pairs among a digest run's new articles, for choosing per target.

    A story is news once, when its first version arrives. Within one digest
    both versions are one item, the target's version (in the place of the
    first of the two its subscriptions picked). A version arriving after the
    other one was already past the target's cursor is dropped, when that
    earlier version could have reached the target (no "Articles in", or its
    language): the target had the story then, or its subscriptions did not
    want it. This needs no record of what each target was sent — the cursor
    is the record — so it costs nothing per target beyond the selection; its
    one blind spot is a subscription matching only the later version's words
    or topics, which then goes without the story (it is in searches, linked)."""

    partner_of: Mapping[int, Partner]
    """The partner of each new article that has one, wherever it is."""
    by_id: Mapping[int, Article]
    """The run's new articles."""

    def choose(
        self,
        ids: Iterable[int],
        *,
        start: int,
        article_language: str | None,
        prefer: str,
        taken: set[int],
    ) -> list[int]:
        """`ids` (one group of a digest, in order) with each story once, as the
        id of its version in `prefer`; `taken` holds the stories already placed
        in earlier groups, and gains this group's."""
        chosen: list[int] = []
        for article_id in ids:
            partner = self.partner_of.get(article_id)
            if partner is None:
                chosen.append(article_id)
                continue
            if partner.id <= start:
                if article_language is None or partner.language == article_language:
                    continue  # the story was news when its first version came
                chosen.append(article_id)
                continue
            story = min(article_id, partner.id)
            if story in taken:
                continue
            taken.add(story)
            article = self.by_id[article_id]
            if _prefers(partner, article, prefer) and partner.id in self.by_id:
                chosen.append(partner.id)
            else:
                chosen.append(article_id)
        return chosen


async def load_versions(db: Database, found: Sequence[Article]) -> tuple[Versions, list[Article]]:
    """The pairs among a run's new articles (one query), and the articles with
    the link to their other version attached (an article's link is the same for
    every reader, so the blocks a run renders once stay shared)."""
    partner_of = await translations.partners(db, [article.id for article in found])
    linked = [with_translation(article, partner_of.get(article.id)) for article in found]
    return Versions(partner_of, {article.id: article for article in linked}), linked
