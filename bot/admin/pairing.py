"""Admins correct the pairs: `/pair`, `/unpair` and the CLI's `pair`, `unpair`, `pairs`.

An admin's decision ranks above everything else: `/pair` replaces whatever
partner either article had (a source's link, the matcher's guess, another
admin's pair) and lifts a veto; `/unpair` parts the two and vetoes them, so
neither the sources' links nor the matcher pair them again (only `/pair` can).
The store enforces the ranking (bot.store.translations.link); this module
only says who did it, in the audit log, and what the admin needs to be told.
Telegram-free: the bot's handlers and the CLI both call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot.formatting import escape, truncate
from bot.i18n import t
from bot.services import Services
from bot.store import admin, articles, translations
from bot.store.articles import Article
from bot.store.db import Database
from bot.store.translations import How, Outcome, Pair

MANUAL_REPLACES: Final[frozenset[How]] = frozenset({"text", "explicit", "manual"})
"""What an admin's `/pair` may undo: any pair either article was in."""
TITLE_SHOWN: Final = 120
"""Characters of a title a reply shows."""
OPERATOR: Final = 0
"""The audit log's admin id for the operator's command line (no Telegram user)."""


@dataclass(frozen=True)
class Paired:
    """What `/pair` did, with what its reply names."""

    outcome: Outcome
    first: Article | None
    second: Article | None
    replaced: tuple[tuple[int, int], ...] = ()
    """Pairs undone to make this one (each as (article, its former partner))."""


@dataclass(frozen=True)
class Unpaired:
    """What `/unpair` did: `article` None when there is no such article, `former`
    None when it had no partner."""

    article_id: int
    article: Article | None
    former: Article | None


async def pair(services: Services, first_id: int, second_id: int, *, admin_id: int) -> Paired:
    """Pair two articles by an admin's decision; audited when it changed something."""
    db, now = services.db, services.now()
    found = {a.id: a for a in await articles.get_many(db, [first_id, second_id])}
    before = await translations.partners(db, [first_id, second_id])
    outcome = await translations.link(
        db, first_id, second_id, how="manual", now=now, replace=MANUAL_REPLACES
    )
    replaced: tuple[tuple[int, int], ...] = ()
    if outcome == "paired":
        replaced = tuple(
            (article_id, partner.id)
            for article_id, partner in before.items()
            if partner.id not in (first_id, second_id)
        )
        detail = f"#{first_id} #{second_id}" + "".join(
            f" (was #{article_id}-#{other})" for article_id, other in replaced
        )
        await admin.audit(db, admin_id, "pair", detail=detail, now=now)
    return Paired(outcome, found.get(first_id), found.get(second_id), replaced)


async def unpair(services: Services, article_id: int, *, admin_id: int) -> Unpaired:
    """Part an article from its translation and veto the pair; audited when it did."""
    db, now = services.db, services.now()
    article = await _article(db, article_id)
    if article is None:
        return Unpaired(article_id, None, None)
    former_id = await translations.unlink(db, article_id, now=now, veto=True)
    if former_id is None:
        return Unpaired(article_id, article, None)
    await admin.audit(db, admin_id, "unpair", detail=f"#{article_id} #{former_id}", now=now)
    return Unpaired(article_id, article, await _article(db, former_id))


async def _article(db: Database, article_id: int) -> Article | None:
    found = await articles.get_many(db, [article_id])
    return found[0] if found else None


@dataclass(frozen=True)
class ListedPair:
    """A pair as the CLI lists it: both articles, lower id first."""

    pair: Pair
    first: Article
    second: Article


async def listed_pairs(db: Database, *, after_id: int = 0, limit: int = 1_000) -> list[ListedPair]:
    """`limit` pairs after `after_id` (by their lower id), with both articles."""
    found = await translations.pairs(db, after_id=after_id, limit=limit)
    ids: Sequence[int] = [i for p in found for i in (p.first_id, p.second_id)]
    by_id = {a.id: a for a in await articles.get_many(db, ids)}
    return [
        ListedPair(p, by_id[p.first_id], by_id[p.second_id])
        for p in found
        if p.first_id in by_id and p.second_id in by_id
    ]


def pair_text(result: Paired, first_id: int, second_id: int, language: str) -> str:
    """The reply to `/pair` (HTML), one for every outcome: why a pair was refused."""
    first, second = result.first, result.second
    match result.outcome:
        case "paired" if first is not None and second is not None:
            text = t(
                language,
                "admin.pair_done",
                first=first.id,
                first_title=_title(first),
                first_language=t(language, f"admin.language_{first.language}"),
                second=second.id,
                second_title=_title(second),
                second_language=t(language, f"admin.language_{second.language}"),
            )
            if result.replaced:
                undone = ", ".join(f"#{a} ↔ #{b}" for a, b in result.replaced)
                text += "\n" + t(language, "admin.pair_replaced", pairs=undone)
            return text
        case "unknown" | "paired":
            return t(language, "admin.pair_unknown", id=first_id if first is None else second_id)
        case "same_language":
            name = t(language, f"admin.language_{first.language}") if first else "?"
            return t(
                language,
                "admin.pair_same_language",
                first=first_id,
                second=second_id,
                language=name,
            )
        case "already":
            return t(language, "admin.pair_already", first=first_id, second=second_id)
        case "same_article" | "taken" | "vetoed":
            return t(language, f"admin.pair_{result.outcome}")


def unpair_text(result: Unpaired, language: str) -> str:
    """The reply to `/unpair` (HTML)."""
    if result.article is None:
        return t(language, "admin.unpair_unknown", id=result.article_id)
    if result.former is None:
        return t(
            language,
            "admin.unpair_not_paired",
            id=result.article_id,
            title=_title(result.article),
        )
    return t(
        language,
        "admin.unpair_done",
        id=result.article_id,
        title=_title(result.article),
        other=result.former.id,
        other_title=_title(result.former),
    )


def _title(article: Article) -> str:
    return f"“{escape(truncate(article.title, TITLE_SHOWN))}”"
