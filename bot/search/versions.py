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
memory, with the earlier versions of the paired ones: `Versions` does the same
over them without a query, and decides whether a later version is news.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
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

    A subscription that matches either version of a story gets the story once,
    as its version in the target's reading language; the "Articles in" filter
    applies to the version shown, not to the version that matched. So where
    the window holds pairs, selection runs without the language filter and
    `one_per_story` applies it per story.

    A story is news once. A version arriving after the other one was already
    past the target's cursor is dropped when that earlier version would have
    been selected for the target (its topics or keywords matched, its language
    allowed, it was not a feed's back catalogue): the target had the story then.
    Otherwise the story is delivered now, once, in the target's language —
    which may be the earlier version. For this the earlier versions count as
    new to every cursor below their partner (`news_from`) and are selected with
    the rest, so the cursor stays the only record of what a target was sent
    and the check costs nothing per target beyond the selection. Its one blind
    spot: a target that took up the subscription after the earlier version
    arrived is taken to have had it.

    Cost: `load_versions` is one query for the partners, and, when partners
    arrived before the window (at most one per new article), one for those
    articles and their topics; the run then evaluates each distinct keyword
    query once more over them (`Window.matches`). Without pairs there is
    nothing more per target; with pairs a target's selection includes both
    languages and is walked once more here."""

    partner_of: Mapping[int, Partner]
    """The partner of each new article that has one, and of each earlier version."""
    by_id: Mapping[int, Article]
    """The run's new articles and the earlier versions, each carrying its link."""
    earlier: Sequence[Article] = ()
    """The earlier versions the window does not hold (before it, or back catalogue)."""
    back_catalogue: frozenset[int] = frozenset()
    """Those of `earlier` that were a feed's back catalogue: never in a digest."""

    def __bool__(self) -> bool:
        return bool(self.partner_of)

    def news_from(self, article_id: int) -> int:
        """A cursor below this has not had the article's story: its own id, or
        its later version's when that one is known to the run."""
        partner = self.partner_of.get(article_id)
        if partner is None or partner.id not in self.by_id:
            return article_id
        return max(article_id, partner.id)

    def one_per_story(
        self,
        groups: Sequence[Sequence[int]],
        *,
        start: int,
        article_language: str | None,
        prefer: str,
    ) -> list[list[int]]:
        """`groups` (a digest's ids, selected without the language filter, in
        order) with each story once, as the id of its version in `prefer`, in
        the place of the first of its versions; a story whose earlier version
        (at or below `start`, the cursor) is among them and in an allowed
        language is left out, as the target had it; an article in another
        language than `article_language` is left out."""
        by_id, partner_of = self.by_id, self.partner_of
        taken: set[int] = set()
        for ids in groups:
            for article_id in ids:
                partner = partner_of.get(article_id)
                if (
                    partner is not None
                    and article_id <= start
                    and article_id not in self.back_catalogue
                    and (article_language is None or by_id[article_id].language == article_language)
                ):
                    taken.add(min(article_id, partner.id))  # the target had the story
        chosen_groups: list[list[int]] = []
        for ids in groups:
            chosen: list[int] = []
            for article_id in ids:
                article = by_id[article_id]
                partner = partner_of.get(article_id)
                if partner is None:
                    if article_language is None or article.language == article_language:
                        chosen.append(article_id)
                    continue
                story = min(article_id, partner.id)
                if story in taken:
                    continue
                taken.add(story)
                shown = article
                if _prefers(partner, article, prefer):
                    shown = by_id.get(partner.id, article)
                if article_language is None or shown.language == article_language:
                    chosen.append(shown.id)
            chosen_groups.append(chosen)
        return chosen_groups


async def load_versions(db: Database, found: Sequence[Article]) -> tuple[Versions, list[Article]]:
    """The pairs among a run's new articles (one query) and their earlier
    versions the run does not hold (one more, only when there are any), and
    the articles with the link to their other version attached (an article's
    link is the same for every reader, so the blocks a run renders once stay
    shared)."""
    partner_of = dict(await translations.partners(db, [article.id for article in found]))
    linked = [with_translation(article, partner_of.get(article.id)) for article in found]
    by_id = {article.id: article for article in linked}
    missing = sorted(
        {
            partner.id
            for article_id, partner in partner_of.items()
            if partner.id < article_id and partner.id not in by_id
        }
    )
    if not missing:
        return Versions(partner_of, by_id), linked
    loaded, back_catalogue = await articles.earlier_versions(db, missing)
    later = {partner.id: article_id for article_id, partner in partner_of.items()}
    earlier: list[Article] = []
    for article in loaded:
        other = by_id[later[article.id]]
        partner_of[article.id] = Partner(
            article_id=article.id,
            id=other.id,
            language=other.language,
            title=other.title,
            url=other.url,
            how=partner_of[other.id].how,
            score=partner_of[other.id].score,
        )
        earlier.append(dataclasses.replace(article, translation=_as_translation(other)))
    by_id.update((article.id, article) for article in earlier)
    return Versions(partner_of, by_id, tuple(earlier), back_catalogue), linked
