"""Following and no longer following: what a typed name means, the cap, the lists.

A chat's handlers and an admin's channel commands both come here with the
target they found, so a channel follows things by exactly a chat's rules.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from bot.digest.preview import next_digest_text
from bot.formatting import MESSAGE_LIMIT, escape, truncate, visible_length
from bot.i18n import t
from bot.reader.problems import problem_text
from bot.search.follow import means_all, to_follow, to_stop_following
from bot.search.query import QueryError
from bot.store import subscriptions
from bot.store.chats import Target
from bot.store.db import Database
from bot.store.subscriptions import Added, Subscription, SubscriptionKind
from bot.topics import Catalogue

MAX_SUBSCRIPTIONS = 50
LISTED_CHARS = 120  # of one subscription in /mysubs
ASKED_CHARS = 60  # of one subscription in the question before removing all


class Outcome(enum.Enum):
    SUBSCRIBED = "subscribed"
    ALREADY = "already"
    FULL = "full"  # the target follows MAX_SUBSCRIPTIONS things
    REFUSED = "refused"  # what /search would refuse
    UNSUBSCRIBED = "unsubscribed"
    NOT_SUBSCRIBED = "not_subscribed"


@dataclass(frozen=True)
class Followed:
    """How one subscribe or unsubscribe went, and for what."""

    outcome: Outcome
    kind: SubscriptionKind = "query"
    value: str = ""
    refused: QueryError | None = None


@dataclass(frozen=True)
class RemoveAll:
    """`/unsubscribe all`: the question to ask before removing, listing what
    would go, and the newest subscription it covers (one made after the
    question stays). `count` is 0 when there is nothing to remove."""

    text: str
    count: int
    upto_id: int


@dataclass(frozen=True)
class Listing:
    """/mysubs: the text, and every subscription with its label (each gets a
    ✕ button, also those the text had no room to list)."""

    text: str
    subscriptions: tuple[Subscription, ...]
    labels: tuple[str, ...]


async def subscribe(
    db: Database, catalogue: Catalogue, target: Target, text: str, now: int
) -> Followed:
    """Follow a topic or keywords, as `to_follow` reads `text`, within the cap."""
    try:
        kind, value = to_follow(catalogue, text)
    except QueryError as exc:
        return Followed(Outcome.REFUSED, value=text, refused=exc)
    added = await subscriptions.add(db, target.id, kind, value, now, limit=MAX_SUBSCRIPTIONS)
    outcome = {Added.ADDED: Outcome.SUBSCRIBED, Added.EXISTS: Outcome.ALREADY}.get(
        added, Outcome.FULL
    )
    return Followed(outcome, kind, value)


async def unsubscribe(
    db: Database, catalogue: Catalogue, target: Target, text: str, *, language: str | None = None
) -> Followed | RemoveAll:
    """Stop following what `text` names; `all` (in either language) is a
    question first, as one mistyped word should not silently end every digest.
    The question is in `language`, the target's own by default."""
    if means_all(text):
        return await remove_all_question(db, catalogue, target, language or target.ui_language)
    kind, value = to_stop_following(catalogue, text)
    removed = await subscriptions.remove(db, target.id, kind, value)
    return Followed(Outcome.UNSUBSCRIBED if removed else Outcome.NOT_SUBSCRIBED, kind, value)


async def toggle_topic(db: Database, target: Target, slug: str, now: int) -> Followed:
    """A topic's Subscribe/Unsubscribe button: the other state, within the cap."""
    if await subscriptions.remove(db, target.id, "topic", slug):
        return Followed(Outcome.UNSUBSCRIBED, "topic", slug)
    added = await subscriptions.add(db, target.id, "topic", slug, now, limit=MAX_SUBSCRIPTIONS)
    return Followed(Outcome.FULL if added is Added.FULL else Outcome.SUBSCRIBED, "topic", slug)


async def remove_all_question(
    db: Database, catalogue: Catalogue, target: Target, language: str
) -> RemoveAll:
    """The question before removing all of `target`'s subscriptions, in
    `language` (an admin asking about a channel reads their own)."""
    found = await subscriptions.list_for_target(db, target.id)
    if not found:
        return RemoveAll(t(language, "subs.mysubs_empty"), 0, 0)
    lines = [escape(truncate(label(catalogue, s, language), ASKED_CHARS)) for s in found]
    text = _fitted(t(language, "subs.all_question", count=len(found)), lines, "", language)
    return RemoveAll(text, len(found), max(s.id for s in found))


async def listing(db: Database, catalogue: Catalogue, target: Target, now: int) -> Listing:
    """What the target follows and its digest, in one message however much it follows."""
    language = target.ui_language
    found = tuple(await subscriptions.list_for_target(db, target.id))
    digest = t(language, "subs.mysubs_digest", mode=mode_name(target))
    if not found:
        return Listing(f"{t(language, 'subs.mysubs_empty')}\n{digest}", (), ())
    labels = tuple(label(catalogue, s, language) for s in found)
    lines = [escape(truncate(text, LISTED_CHARS)) for text in labels]
    footer = f"{digest}\n{next_digest_text(target, now)}"
    text = _fitted(t(language, "subs.mysubs_header"), lines, footer, language)
    return Listing(text, found, labels)


def _fitted(header: str, lines: Sequence[str], footer: str, language: str) -> str:
    """Header, a bullet per line, footer — in one message: the lines that do
    not fit are counted in a "… and N more" line instead."""

    def text(shown: int) -> str:
        body = [f"• {line}" for line in lines[:shown]]
        if shown < len(lines):
            body.append(t(language, "subs.more", count=len(lines) - shown))
        parts = [header, "\n".join(body)] + ([footer] if footer else [])
        return "\n\n".join(parts)

    shown = len(lines)
    while shown > 0 and visible_length(text(shown)) > MESSAGE_LIMIT:
        shown -= 1
    return text(shown)


def answer(catalogue: Catalogue, target: Target, followed: Followed, language: str) -> str:
    """The reply to a subscribe, unsubscribe or toggle, in `language`."""
    if followed.refused is not None:
        refused = followed.refused
        return problem_text(refused.problem, language, topic=refused.topic)
    what = _what(catalogue, followed.kind, followed.value, language)
    outcome = followed.outcome
    if outcome is Outcome.FULL:
        return t(language, "subs.too_many", limit=MAX_SUBSCRIPTIONS)
    if outcome is Outcome.ALREADY:
        return t(language, "subs.already", what=what)
    if outcome is Outcome.UNSUBSCRIBED:
        return t(language, "subs.unsubscribed", what=what)
    if outcome is Outcome.NOT_SUBSCRIBED:
        return t(language, "subs.not_subscribed", what=what)
    key = "subs.subscribed_topic" if followed.kind == "topic" else "subs.subscribed_query"
    return t(language, key, topic=what, query=what, mode=mode_name(target, language))


def label(catalogue: Catalogue, subscription: Subscription, language: str) -> str:
    """A subscription as a list shows it (plain text)."""
    if subscription.kind == "topic":
        topic = catalogue.get(subscription.value)
        name = topic.name(language) if topic else subscription.value
        return t(language, "subs.topic_label", topic=name)
    return t(language, "subs.query_label", query=subscription.value)


def mode_name(target: Target, language: str | None = None) -> str:
    return t(language or target.ui_language, f"settings.mode_{target.digest_mode}")


def _what(catalogue: Catalogue, kind: SubscriptionKind, value: str, language: str) -> str:
    if kind == "topic":
        topic = catalogue.get(value)
        return escape(topic.name(language) if topic else value)
    return escape(truncate(value, 80))
