"""Building digests and queueing them: scheduled, instant, on request, paged.

Every run reads the articles that are new for the targets it serves once
(`Window`), evaluates each distinct keyword subscription once over them, indexes
them and renders what targets share once (`Builder`), then walks the targets in
batches. Each batch is committed in one transaction with
`digests.commit_digests`, which queues a target's messages and moves its cursor
and schedule together. A single target (/digest, a "show more" page) is built on
its own with `select` and `compose`.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import logging
import sys
import time
import weakref
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

from cachetools import FIFOCache

import bot.metrics as metrics
from bot.digest import schedule
from bot.digest.compose import (
    Composer,
    DigestMessage,
    Heading,
    PageRef,
    channel_posts,
    compose,
    instant_photo,
    parse_callback,
    single_item,
    with_read_button,
)
from bot.digest.select import Index, Selection, select
from bot.formatting import linked_urls
from bot.search.query import QueryError, parse_query
from bot.search.versions import Versions, load_versions, reading_language
from bot.services import Services
from bot.store import articles, digests, feeds
from bot.store.articles import Article
from bot.store.chats import Target, get_target_by_id
from bot.store.db import Database
from bot.store.digests import DigestCommit, DigestGroup, GroupDigest, RunTarget
from bot.store.fulltext import TextMatch
from bot.store.outbox import NewMessage, SharedPart, SharedRow, encode_payload, encode_text
from bot.store.subscriptions import Subscription
from bot.topics import Catalogue

log = logging.getLogger(__name__)
_Read = TypeVar("_Read")
_Built = TypeVar("_Built")

BATCH: Final = 2_000
MAX_BACKLOG: Final = 2_000
"""At most this many of the newest article ids are considered for one digest,
so a target whose cursor is far behind (digests off for months) gets a digest
of recent news, and a run's memory stays bounded."""

NO_PREVIEW: Final = {"is_disabled": True}


def link_preview(text: str, *, enabled: bool, urls: Sequence[str] | None = None) -> dict[str, Any]:
    """The `link_preview_options` of a digest page or post: Telegram's preview
    of the article the message leads with, never of whichever link Telegram
    would pick in a message of several.

    The lead is the first article the message lists (a digest is ordered by
    the reader's topics, newest first, so that is its top story; a page split
    over several messages leads each with its own first). A message of one
    article previews it large, below the text, as a shared link reads; one of
    several shows the lead's preview above the list, as a front page's picture
    heads its headlines. Off when the target turned previews off or the
    message links no article (a lone "… and N more"). `urls`: `linked_urls(text)`
    when the caller knows them."""
    if not enabled:
        return NO_PREVIEW
    if urls is None:
        urls = linked_urls(text)
    if not urls:
        return NO_PREVIEW
    options: dict[str, Any] = {"url": urls[0], "prefer_large_media": True}
    if urls.count(urls[0]) != len(urls):  # more than one article
        options["show_above_text"] = True
    return options


QueryKey = tuple[TextMatch | None, str | None, tuple[str, ...]]


@dataclass
class DispatchReport:
    targets: int = 0  # targets looked at
    digests: int = 0  # targets that got messages
    messages: int = 0
    failed: int = 0  # targets whose digest could not be built or saved

    def add(self, other: DispatchReport) -> None:
        self.targets += other.targets
        self.digests += other.digests
        self.messages += other.messages
        self.failed += other.failed


def reschedule(target: Target, now: int) -> int | None:
    """The next_digest_at for a target's current settings, strictly after `now`
    (`schedule.due_after`: a run moves a sent target's time on with it)."""
    return schedule.due_after(target, now)


@dataclass
class Window:
    """The articles with after_id < id <= upto_id and, lazily, which of them each
    keyword query matches: computed once for all the targets of a run."""

    db: Database
    catalogue: Catalogue
    after_id: int
    upto_id: int
    articles: list[Article]
    sources: Mapping[int, str] = field(default_factory=dict)
    """The feeds' names by id when the bot reads several: a channel post then
    says which one an article came from."""
    readable: frozenset[int] = frozenset()
    """The articles with a full text to read in the chat (the 📖 Read button)."""
    versions: Versions | None = None
    """The pairs among the articles: a paired story is one item per target."""
    by_id: dict[int, Article] = field(init=False)
    """The articles, and the earlier versions of paired ones (`versions`)."""
    _ids: list[int] = field(init=False)
    _newest_image: int = field(init=False)
    _before: Sequence[Article] = field(init=False)
    _inside: list[Article] = field(init=False)
    paired: bool = field(init=False)
    """Whether the window holds a paired story (selection is then by story)."""
    _queries: dict[QueryKey, frozenset[int]] = field(default_factory=dict, init=False)
    _texts: dict[str, frozenset[int]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.by_id = {article.id: article for article in self.articles}
        self._ids = [article.id for article in self.articles]
        self._before, self._inside = (), []
        self.paired = bool(self.versions)
        if self.versions:
            self.by_id.update(self.versions.by_id)
            self._before = self.versions.earlier
            news_from = self.versions.news_from
            self._inside = [a for a in self.articles if news_from(a.id) > a.id]
        self._newest_image = max(
            (self.news_from(a.id) for a in (*self.articles, *self._before) if a.image is not None),
            default=-1,
        )

    def news_from(self, article_id: int) -> int:
        """A cursor below this has not had the article's story (`Versions.news_from`)."""
        return self.versions.news_from(article_id) if self.versions else article_id

    def candidates(self, cursor: int | None = None) -> list[Article]:
        """What a target whose cursor is `cursor` (the window's start when None)
        may be sent: the articles after it, and the earlier versions at or
        below it of stories whose later version is after it."""
        cursor = self.after_id if cursor is None else cursor
        found = self.since(cursor)
        news_from = self.news_from
        found.extend(a for a in self._before if cursor < news_from(a.id))
        found.extend(a for a in self._inside if a.id <= cursor < news_from(a.id))
        return found

    @classmethod
    async def load(cls, db: Database, catalogue: Catalogue, after_id: int, upto_id: int) -> Window:
        after_id = max(after_id, upto_id - MAX_BACKLOG, 0)
        found = await articles.between(db, after_id, upto_id) if after_id < upto_id else []
        versions, found = await load_versions(db, found)
        names = await feeds.active_names(db)
        readable = await articles.with_full_content(
            db, [article.id for article in (*found, *versions.earlier)]
        )
        return cls(
            db,
            catalogue,
            after_id,
            upto_id,
            found,
            sources=names if len(names) > 1 else {},
            readable=frozenset(readable),
            versions=versions,
        )

    def start_for(self, target: Target) -> int:
        return max(target.cursor_article_id, self.after_id)

    def since(self, cursor: int) -> list[Article]:
        return self.articles[bisect.bisect_right(self._ids, cursor) :]

    def image_since(self, cursor: int) -> bool:
        """Whether an article after `cursor` has a lead image (an instant digest
        may then go as a photo)."""
        return self._newest_image > cursor

    def select_for(
        self,
        target: Target,
        subscriptions: Sequence[Subscription],
        matches: Mapping[str, frozenset[int]],
        *,
        after_id: int | None = None,
    ) -> Selection:
        """`select` over the window's articles (those after `after_id`) for one
        target: its article language, the catalogue's topic order; a paired
        story once (`one_per_story`)."""
        start = self.after_id if after_id is None else after_id
        selection = select(
            self.candidates(start),
            subscriptions,
            article_language=self.selection_language(target),
            keyword_matches=matches,
            topic_order=[topic.slug for topic in self.catalogue.topics],
        )
        return self.one_per_story(selection, target, start, matches)

    def selection_language(self, target: Target) -> str | None:
        """The language filter selection applies: the target's, unless the
        window holds pairs, whose versions `one_per_story` filters by story
        (a subscription matching either version gets the story)."""
        return None if self.paired else target.article_language

    def one_per_story(
        self,
        selection: Selection,
        target: Target,
        start: int,
        matches: Mapping[str, frozenset[int]],
    ) -> Selection:
        """The selection with each paired story once, in the target's language
        (`versions.Versions.one_per_story`); a keyword group names the keywords
        that matched a version of one of the stories it keeps."""
        if not self.paired or self.versions is None or not selection:
            return selection
        chosen = self.versions.one_per_story(
            [group.article_ids for group in selection.groups],
            start=start,
            article_language=target.article_language,
            prefer=reading_language(target.article_language, target.ui_language),
        )
        partner_of = self.versions.partner_of
        groups = []
        for group, ids in zip(selection.groups, chosen, strict=True):
            if not ids:
                continue
            keywords = group.keywords
            if keywords:
                versions = set(ids)
                versions.update(p.id for i in ids if (p := partner_of.get(i)) is not None)
                keywords = tuple(k for k in keywords if not versions.isdisjoint(matches.get(k, ())))
            groups.append(dataclasses.replace(group, article_ids=tuple(ids), keywords=keywords))
        return Selection(tuple(groups))

    def _key(self, text: str) -> QueryKey | None:
        try:
            query = parse_query(text)
        except QueryError:
            return None
        slugs = []
        for name in query.topics:
            topic = self.catalogue.resolve(name)
            if topic is None:
                return None
            slugs.append(topic.slug)
        return (query.text_match(), query.language, tuple(slugs))

    async def matches(self, texts: Iterable[str]) -> dict[str, frozenset[int]]:
        """For each query subscription text, the window's ids it matches. Texts
        that mean the same query share one evaluation, here and in later calls;
        a text is parsed once per run, not once per batch that holds it."""
        result: dict[str, frozenset[int]] = {}
        for text in set(texts):
            known = self._texts.get(text)
            if known is not None:
                result[text] = known
                continue
            key = self._key(text)
            if key is None:
                found: frozenset[int] = frozenset()
            elif key in self._queries:
                found = self._queries[key]
            else:
                match, language, topics = key
                found = await digests.keyword_matches(
                    self.db,
                    match,
                    after_id=self.after_id,
                    upto_id=self.upto_id,
                    language=language,
                    topics=topics,
                )
                if self.versions and self.versions.earlier:
                    found |= await digests.keyword_matches_among(
                        self.db,
                        match,
                        [article.id for article in self.versions.earlier],
                        language=language,
                        topics=topics,
                    )
                self._queries[key] = found
            result[text] = self._texts[text] = found
        return result


TopicsKey = tuple[frozenset[str], str | None, int, str, str, str, bool, bool]
PageKey = tuple[tuple[int, int], str, int, bool, bool]


class Builder:
    """What the targets of one run share: the window indexed for selection and
    a composer that renders each piece once (`select.Index`, `compose.Composer`).
    It gives the requests `select` and `compose` give target by target.

    A digest page names no target (its "show more" button is answered for the
    chat it is pressed in), so every target that gets the same page gets the
    very same request: it is built and stored once (`outbox.SharedPart`), and
    each target only gets a row that points at it. A target that follows
    topics only gets the pages of every other with the same topics, article
    language, cursor, language, zone, heading and link previews, found before
    selecting;
    one with keywords selects its own articles, and shares the packing of
    every other target whose page holds the same articles (keywords mostly add
    articles past the first page, which only changes "… and N more"), and the
    request of every other whose page and count came out the same."""

    _REQUEST_BYTES: Final = 64_000_000
    """Memory for requests kept for reuse, per cache: a run with many distinct
    pages builds some again rather than hold them all. (Counted generously: a
    request kept under several keys is counted under each, and a text with an
    emoji takes four bytes a character.)"""

    def __init__(self, services: Services, window: Window, now: int) -> None:
        self.index = Index(
            window.candidates(),
            [topic.slug for topic in services.catalogue.topics],
            news_from=window.news_from if window.paired else None,
        )
        self.composer = Composer(
            window.by_id,
            now=now,
            max_items=services.settings.digest_max_items,
            topic_names=services.topic_names,
        )
        self._upto = window.upto_id
        self._window = window
        self._by_topics: FIFOCache[TopicsKey, tuple[SharedPart, ...]] = FIFOCache(
            self._REQUEST_BYTES, getsizeof=_size
        )
        self._by_page: FIFOCache[PageKey, tuple[SharedPart, ...]] = FIFOCache(
            self._REQUEST_BYTES, getsizeof=_size
        )
        # One object per distinct request while any cache or build holds it:
        # pages found by different ways often come out the same, and the
        # outbox hashes each object's text once (`SharedPart.digest`).
        self._parts: weakref.WeakValueDictionary[str, SharedPart] = weakref.WeakValueDictionary()

    def selection(
        self,
        target: Target,
        subscriptions: Sequence[Subscription],
        matches: Mapping[str, frozenset[int]],
        start: int,
    ) -> Selection:
        selection = self.index.select(
            subscriptions,
            article_language=self._window.selection_language(target),
            keyword_matches=matches,
            after_id=start,
        )
        return self._window.one_per_story(selection, target, start, matches)

    def pages(
        self,
        target: Target,
        subscriptions: Sequence[Subscription],
        matches: Mapping[str, frozenset[int]],
        *,
        start: int,
        heading: Heading,
        paging: bool,
    ) -> tuple[SharedPart, ...]:
        """The target's digest as whole requests, each built once for every
        target of the run that gets it (also in other zones that read it alike:
        `Composer.zone`)."""
        language = target.ui_language
        timezone = self.composer.zone(language, target.timezone, heading)
        previews = target.link_previews
        keyworded = False
        topics: set[str] = set()
        for sub in subscriptions:
            if sub.kind == "topic":
                topics.add(sub.value)
            else:
                keyworded = True
        if not keyworded:
            by_topics = (
                frozenset(topics),
                target.article_language,
                start,
                language,
                timezone,
                heading,
                paging,
                previews,
            )
            found = self._by_topics.get(by_topics)
            if found is None:
                selection = self.selection(target, subscriptions, matches, start)
                found = self._requests(
                    selection, start, language, timezone, heading, paging, previews
                )
                _keep(self._by_topics, by_topics, found)
            return found
        selection = self.selection(target, subscriptions, matches, start)
        return self._requests(selection, start, language, timezone, heading, paging, previews)

    def _requests(
        self,
        selection: Selection,
        start: int,
        language: str,
        timezone: str,
        heading: Heading,
        paging: bool,
        previews: bool,
    ) -> tuple[SharedPart, ...]:
        located = self.composer.locate(
            selection, language=language, timezone=timezone, heading=heading
        )
        if located is None:
            return ()
        key = (located.identity, language, start, paging, previews)
        found = self._by_page.get(key)
        if found is None:
            ref = PageRef(start, self._upto) if paging else None
            packed = located.packed(encode=True)
            messages = self.composer.messages(packed, language=language, ref=ref)
            if paging:
                messages = with_read_button(
                    messages,
                    selection,
                    self._window.by_id,
                    self._window.readable,
                    language=language,
                )
            found = tuple(
                self._part(_encoded_request(message, previews=previews)) for message in messages
            )
            _keep(self._by_page, key, found)
        return found

    def _part(self, encoded: str) -> SharedPart:
        part = self._parts.get(encoded)
        if part is None:
            part = self._parts[encoded] = SharedPart(encoded)
        return part

    def requests_bytes(self) -> int:
        """The memory of the distinct requests something still holds, each once."""
        return sum(sys.getsizeof(part.encoded) for part in self._parts.values())


def _size(requests: tuple[SharedPart, ...]) -> int:
    return sum(sys.getsizeof(part.encoded) for part in requests)


def _keep(
    cache: FIFOCache[Any, tuple[SharedPart, ...]], key: Any, requests: tuple[SharedPart, ...]
) -> None:
    """Remember `requests` unless they alone would fill the cache."""
    if _size(requests) < cache.maxsize // 8:
        cache[key] = requests


def _queries(subscriptions: Mapping[int, Sequence[Subscription]]) -> set[str]:
    return {sub.value for subs in subscriptions.values() for sub in subs if sub.kind == "query"}


def digest_messages(
    services: Services,
    target: Target,
    window: Window,
    subscriptions: Sequence[Subscription],
    matches: Mapping[str, frozenset[int]],
    *,
    heading: Heading,
    now: int,
    as_posts: bool = False,
    paging: bool = True,
    builder: Builder | None = None,
) -> list[NewMessage]:
    """The target's digest over what is new to it in the window, as outbox rows
    (`as_posts`: one post per article, for instant channels; `paging`: a "show
    more" button under a long digest, which channels go without, as pressing it
    would make the bot post there at any reader's request).

    With a run's `builder` the work shared with other targets is done once;
    without, the target's digest is built on its own with `select` and
    `compose` (one target, or the reference the builder is checked against)."""
    start = window.start_for(target)
    ref = PageRef(start, window.upto_id) if paging else None
    if builder is not None:
        selection = builder.selection(target, subscriptions, matches, start)
    else:
        selection = window.select_for(target, subscriptions, matches, after_id=start)
    if not selection:
        return []
    if as_posts:
        return [
            _outbox_message(target, post, kind="post")
            for post in channel_posts(selection, window.by_id, window.sources)
        ]
    pages = compose(
        selection,
        window.by_id,
        language=target.ui_language,
        timezone=target.timezone,
        now=now,
        heading=heading,
        topic_names=services.topic_names(target.ui_language),
        max_items=services.settings.digest_max_items,
        ref=ref,
    )
    if paging:
        pages = with_read_button(
            pages, selection, window.by_id, window.readable, language=target.ui_language
        )
    if heading == "instant" and len(pages) == 1:
        photo = instant_photo(
            selection,
            window.by_id,
            language=target.ui_language,
            timezone=target.timezone,
            now=now,
            topic_names=services.topic_names(target.ui_language),
        )
        if photo is not None:
            pages = [dataclasses.replace(pages[0], photo=photo)]
    return [_outbox_message(target, page) for page in pages]


def _request(message: DigestMessage, *, previews: bool) -> dict[str, Any]:
    """A digest page's sendMessage parameters (less the chat and topic)."""
    request: dict[str, Any] = {"text": message.text, "parse_mode": "HTML"}
    if message.reply_markup is not None:
        request["reply_markup"] = message.reply_markup
    request["link_preview_options"] = link_preview(message.text, enabled=previews)
    return request


def _encoded_request(message: DigestMessage, *, previews: bool) -> str:
    """`encode_payload(_request(message, previews=previews))`, from the text as
    already encoded."""
    text = encode_text(message.text) if message.encoded_text is None else message.encoded_text
    markup = (
        ""
        if message.reply_markup is None
        else f',"reply_markup":{encode_payload(message.reply_markup)}'
    )
    options = encode_payload(link_preview(message.text, enabled=previews, urls=message.urls))
    return f'{{"text":{text},"parse_mode":"HTML"{markup},"link_preview_options":{options}}}'


def _outbox_message(
    target: Target, message: DigestMessage, *, kind: Literal["digest", "post"] = "digest"
) -> NewMessage:
    previews = target.link_previews
    payload = (
        _request(message, previews=previews)
        if kind == "digest"
        else {
            "text": message.text,
            "parse_mode": "HTML",
            "link_preview_options": link_preview(message.text, enabled=previews),
        }
    )
    if message.photo is not None:
        return NewMessage.photo(
            target.chat_id,
            message.photo.url,
            message.photo.caption,
            fallback=payload,
            kind=kind,
            thread_id=target.thread_id,
            target_id=target.id,
        )
    return NewMessage(
        target.chat_id,
        kind,
        "sendMessage",
        payload,
        thread_id=target.thread_id,
        target_id=target.id,
    )


async def _run_batches(
    services: Services,
    window: Window,
    now: int,
    commit_for: _CommitFor,
    next_batch: Callable[[], Coroutine[Any, Any, Sequence[RunTarget]]],
    size: int,
) -> DispatchReport:
    """Build and save batch after batch, each saved in one transaction, the
    next read and the last save overlapping the build (`_overlapped`)."""

    async def build(
        batch: Sequence[RunTarget],
    ) -> tuple[list[DigestCommit], DispatchReport]:
        return await _build_batch(batch, window, commit_for)

    async def save(built: tuple[list[DigestCommit], DispatchReport]) -> DispatchReport:
        return await _save_batch(services, *built, now)

    return await _overlapped(
        next_batch(),
        done=lambda batch: not batch,
        following=lambda batch: next_batch() if len(batch) >= size else None,
        build=build,
        save=save,
    )


async def _overlapped(
    first: Coroutine[Any, Any, _Read],
    *,
    done: Callable[[_Read], bool],
    following: Callable[[_Read], Coroutine[Any, Any, _Read] | None],
    build: Callable[[_Read], Coroutine[Any, Any, _Built]],
    save: Callable[[_Built], Coroutine[Any, Any, DispatchReport]],
) -> DispatchReport:
    """Read, build and save in turn, the three overlapping: the next read (one
    query on the reader's thread) and the last save (one trip to the writer's
    thread, its rows unpacked by SQLite without the interpreter) run while this
    one is built, so a run keeps both cores busy. At most one read and one save
    are in flight, so reads and saves keep their order. `done`: the read holds
    nothing to build (the run is over); `following`: the read after it, or None
    when it was the last."""
    report = DispatchReport()
    reading: asyncio.Task[_Read] | None = asyncio.create_task(first)
    saving: asyncio.Task[DispatchReport] | None = None
    try:
        while reading is not None:
            read = await reading
            reading = None
            if done(read):
                break
            if (then := following(read)) is not None:
                reading = asyncio.create_task(then)
                await asyncio.sleep(0)  # the read reaches its thread before the build
            built = await build(read)
            if saving is not None:
                report.add(await saving)
            saving = asyncio.create_task(save(built))
    finally:
        for task in (reading, saving):
            if task is not None and not task.done():
                await asyncio.wait([task])
        if saving is not None:
            report.add(saving.result())
    return report


async def _build_batch(
    batch: Sequence[RunTarget], window: Window, commit_for: _CommitFor
) -> tuple[list[DigestCommit], DispatchReport]:
    report = DispatchReport(targets=len(batch))
    matches = await window.matches(
        sub.value for run in batch for sub in run.subscriptions if sub.kind == "query"
    )
    commits: list[DigestCommit] = []
    for target, subscriptions, channel in batch:
        try:
            commits.append(commit_for(target, subscriptions, matches, channel))
        except Exception:
            report.failed += 1
            log.exception("digest for target %d (chat %d) failed", target.id, target.chat_id)
    return commits, report


async def _save_batch(
    services: Services, commits: Sequence[DigestCommit], report: DispatchReport, now: int
) -> DispatchReport:
    try:
        applied = await digests.commit_digests(services.db, commits, now=now)
    except Exception:
        report.failed += len(commits)
        log.exception("saving digests for %d targets failed", len(commits))
        return report
    for commit, ok in zip(commits, applied, strict=True):
        if ok and commit.queued:
            report.digests += 1
            report.messages += commit.queued
    if report.messages:
        services.wake_sender()
    return report


def _scheduled_heading(target: Target) -> Heading:
    return "weekly" if target.digest_mode == "weekly" else "daily"


class _CommitFor:
    """Builds one target's commit; the mode-specific part of a run."""

    def __init__(
        self,
        services: Services,
        window: Window,
        now: int,
        heading: Heading | None,
        *,
        reference: bool = False,
    ):
        self.services = services
        self.window = window
        self.now = now
        self.heading = heading  # None: take it from the target's mode
        self.builder = None if reference else Builder(services, window, now)
        self._schedules: dict[tuple[str, int, int, str], int | None] = {}

    def next_time(self, target: Target) -> int | None:
        """`reschedule(target, now)`, once per run for every setting it depends on."""
        key = (target.digest_mode, target.digest_minute, target.digest_weekday, target.timezone)
        if key not in self._schedules:
            self._schedules[key] = reschedule(target, self.now)
        return self._schedules[key]

    def _may_be_photo(
        self,
        target: Target,
        subscriptions: Sequence[Subscription],
        matches: Mapping[str, frozenset[int]],
        heading: Heading,
    ) -> bool:
        """Whether the target's instant digest holds one article with a lead
        image, and so may go as a photo (`compose.instant_photo`): such a
        digest is its target's own row, not a page shared with others. Looked
        at only when the window has an image for the target."""
        start = self.window.start_for(target)
        if heading != "instant" or self.builder is None or not self.window.image_since(start):
            return False
        selection = self.builder.selection(target, subscriptions, matches, start)
        item = single_item(selection, self.window.by_id)
        return item is not None and item[1].image is not None

    def requests_bytes(self) -> int:
        return 0 if self.builder is None else self.builder.requests_bytes()

    def zone(self, target: Target) -> str:
        """The zone a scheduled target's pages are made in (`Composer.zone`)."""
        assert self.builder is not None
        return self.builder.composer.zone(
            target.ui_language, target.timezone, _scheduled_heading(target)
        )

    def group_pages(
        self, group: DigestGroup, queries: Sequence[str], matches: Mapping[str, frozenset[int]]
    ) -> tuple[SharedPart, ...]:
        """The pages each target of a group gets: those `__call__` builds for
        any one of them (a scheduled digest: never photos or posts). `queries`:
        the group's that match something; the others add nothing to a digest."""
        target = group.target
        assert self.builder is not None
        assert self.heading is None
        if not target.active:
            return ()
        subscriptions = [Subscription(0, 0, "topic", slug) for slug in group.topics]
        subscriptions += [Subscription(0, 0, "query", text) for text in queries]
        return self.builder.pages(
            target,
            subscriptions,
            matches,
            start=self.window.start_for(target),
            heading=_scheduled_heading(target),
            paging=not group.channel,
        )

    def __call__(
        self,
        target: Target,
        subscriptions: Sequence[Subscription],
        matches: Mapping[str, frozenset[int]],
        channel: bool = False,
    ) -> DigestCommit:
        next_at = self.next_time(target)
        scheduled = target.digest_mode in schedule.SCHEDULED_MODES
        if self.heading is None and not scheduled:
            # Switched to instant or off without clearing its time: just unschedule.
            return DigestCommit(
                target.id,
                target.cursor_article_id,
                target.next_digest_at,
                target.cursor_article_id,
                None,
            )
        messages: list[NewMessage] = []
        shared: list[SharedRow] = []
        if target.active:
            heading: Heading = self.heading or _scheduled_heading(target)
            as_posts = channel and heading == "instant"
            if (
                self.builder is not None
                and not as_posts
                and not self._may_be_photo(target, subscriptions, matches, heading)
            ):
                pages = self.builder.pages(
                    target,
                    subscriptions,
                    matches,
                    start=self.window.start_for(target),
                    heading=heading,
                    paging=not channel,
                )
                row = (target.chat_id, target.thread_id, target.id)
                shared = [(*row, page) for page in pages]
            else:
                messages = digest_messages(
                    self.services,
                    target,
                    self.window,
                    subscriptions,
                    matches,
                    heading=heading,
                    now=self.now,
                    as_posts=as_posts,
                    paging=not channel,
                    builder=self.builder,
                )
        # Inactive targets move on too: a chat that comes back gets news from
        # then on, not a backlog of everything it missed.
        return DigestCommit(
            target.id,
            target.cursor_article_id,
            target.next_digest_at,
            max(target.cursor_article_id, self.window.upto_id),
            next_at,
            messages,
            shared=shared,
        )


async def schedule_new_targets(services: Services, now: int, *, batch: int = BATCH) -> int:
    """Give daily and weekly targets that have no next time one (targets made
    before schedules were set on creation, or made by an import). Returns how
    many."""
    done = 0
    after = 0
    while found := await digests.unscheduled_targets(services.db, after_id=after, limit=batch):
        after = found[-1].id
        schedules = []
        for target in found:
            try:
                schedules.append((target.id, schedule.due_after(target, now)))
            except ValueError:
                log.exception("target %d has invalid digest settings", target.id)
        await digests.set_schedules(services.db, schedules)
        done += len(schedules)
        if len(found) < batch:
            break
    return done


async def dispatch_due(
    services: Services, now: int, *, batch: int = BATCH, reference: bool = False
) -> DispatchReport:
    """Queue the digests of every daily and weekly target due at `now`.

    Only due targets are read (through the targets_due index), so the cost
    follows them, not the number of chats. A target whose time passed while the
    bot was down is simply due: it gets one digest and its next time is
    computed from `now`, so downtime never produces a second one.

    `reference` builds each target's digest on its own, as /digest does,
    instead of sharing the work across the run: the same messages, slower;
    the tests and the benchmark compare the two.
    """
    started = time.perf_counter()
    await schedule_new_targets(services, now, batch=batch)
    report = DispatchReport()
    oldest = await digests.oldest_due_cursor(services.db, now)
    if oldest is None:
        return _measured("scheduled", started, report)
    upto = await articles.newest_id(services.db)
    window = await Window.load(services.db, services.catalogue, oldest, upto)
    commit_for = _CommitFor(services, window, now, heading=None, reference=reference)

    after: tuple[int, int] = (-1, 0)

    async def next_batch() -> list[RunTarget]:
        nonlocal after
        found = await digests.due_run(services.db, now, after=after, limit=batch)
        if found:
            last = found[-1].target
            assert last.next_digest_at is not None
            after = (last.next_digest_at, last.id)
        return found

    if not reference:
        # Nearly every target goes by group, in SQLite; what the groups left
        # (settings changed meanwhile, a build that failed, a schedule left on
        # an instant target) is still due, and the batches take it.
        report.add(await _dispatch_groups(services, window, now, commit_for, batch))
    report.add(await _run_batches(services, window, now, commit_for, next_batch, batch))
    return _measured("scheduled", started, report)


GROUP_BATCHES: Final = 5
"""`_dispatch_groups` commits this many batches' worth of due targets a
transaction: SQLite's work only (tens of milliseconds), and each commit writes
the index pages it touched again."""


async def _dispatch_groups(
    services: Services, window: Window, now: int, commit_for: _CommitFor, batch: int
) -> DispatchReport:
    """The due targets by group of those that get the same digest
    (`digests.DigestGroup`): a group's digest is built once, and SQLite queues it
    for each target of the group and moves their cursors, a page of due targets
    a transaction. Python's work follows the distinct digests, not the targets.

    As the batches do, the next page is read and the last one saved while
    this one's digests are built. Whatever no group commits stays due."""
    db = services.db
    limit = batch * GROUP_BATCHES

    async def save(built: list[tuple[DigestGroup, GroupDigest]]) -> DispatchReport:
        done = DispatchReport()
        try:
            counts = await digests.commit_groups(db, built, now=now, upto_id=window.upto_id)
        except Exception:
            log.exception("saving the digests of a page of due targets failed")
            return done
        for (_, digest), count in zip(built, counts, strict=True):
            done.targets += count
            if pages := len(digest.pages):
                done.digests += count
                done.messages += count * pages
        if done.messages:
            services.wake_sender()
        return done

    # The run's keyword queries are evaluated first (the window keeps them),
    # so that SQLite leaves out of each group those that match nothing: most
    # targets that follow keywords then share their topics' group instead of
    # making one of their own. A query first seen later (a subscription made
    # during the run) is simply kept in its groups.
    texts = await digests.due_queries(db, now)
    found = await window.matches(texts)
    unmatched = [text for text in texts if not found[text]]

    async def page_after(after: tuple[int, int]) -> digests.GroupPage:
        return await digests.due_groups(db, now, after=after, limit=limit, unmatched=unmatched)

    same: dict[tuple[Any, ...], tuple[SharedPart, ...]] = {}

    async def build(page: digests.GroupPage) -> list[tuple[DigestGroup, GroupDigest]]:
        return await _group_digests(page.groups, window, commit_for, same)

    def following(page: digests.GroupPage) -> Coroutine[Any, Any, digests.GroupPage] | None:
        return page_after(page.last) if page.full and page.last is not None else None

    return await _overlapped(
        page_after((-1, 0)),
        done=lambda page: page.last is None,
        following=following,
        build=build,
        save=save,
    )


_ALIKE_KEPT: Final = 100_000
"""Groups' pages kept by `_group_digests` for the groups of later pages: a run
with more distinct ones builds some again. Pages are shared objects (one per
distinct request, `Builder`), so what this holds is mostly references..."""
_ALIKE_BYTES: Final = 160_000_000
"""... unless the groups' pages are mostly their own (a population whose every
chat follows keywords no other does): the run's distinct requests may then
take this much memory, counting those its caches hold, before it lets go of
the kept pages."""


async def _group_digests(
    groups: Sequence[DigestGroup],
    window: Window,
    commit_for: _CommitFor,
    same: dict[tuple[Any, ...], tuple[SharedPart, ...]],
) -> list[tuple[DigestGroup, GroupDigest]]:
    """Each group with its digest. Groups that differ only in queries matching
    nothing in the window, in their time, or in a zone that reads their digest
    alike (`Composer.zone`) get the same pages, built once in the run (`same`,
    kept across pages: the same topics, keywords and settings come back in
    every page)."""
    matches = await window.matches(text for group in groups for text in group.queries)
    built: list[tuple[DigestGroup, GroupDigest]] = []
    if len(same) > _ALIKE_KEPT or commit_for.requests_bytes() > _ALIKE_BYTES:
        same.clear()
    for group in groups:
        queries = tuple(text for text in group.queries if matches[text])
        t = group.target
        try:  # a zone no longer known fails its group, not the page
            alike = (
                t.active,
                t.ui_language,
                t.article_language,
                t.digest_mode,
                t.digest_minute,
                t.digest_weekday,
                commit_for.zone(t),
                t.cursor_article_id,
                t.link_previews,
                group.topics,
                queries,
                group.channel,
            )
            pages = same.get(alike)
            if pages is None:
                pages = same[alike] = commit_for.group_pages(group, queries, matches)
            digest = GroupDigest(commit_for.next_time(t), pages)
        except Exception:
            log.exception("digest for %d alike targets failed", group.targets)
            continue
        built.append((group, digest))
    return built


async def dispatch_instant(
    services: Services, now: int, *, batch: int = BATCH, reference: bool = False
) -> DispatchReport:
    """Queue new matching articles for instant targets (one message batch per
    target per run, however many articles arrived); `reference` as in
    `dispatch_due`."""
    started = time.perf_counter()
    report = DispatchReport()
    upto = await articles.newest_id(services.db)
    oldest = await digests.oldest_instant_cursor(services.db, upto)
    if oldest is None:
        return _measured("instant", started, report)
    window = await Window.load(services.db, services.catalogue, oldest, upto)
    commit_for = _CommitFor(services, window, now, heading="instant", reference=reference)
    after = (-1, 0)

    async def next_batch() -> list[RunTarget]:
        nonlocal after
        found = await digests.instant_run(services.db, upto, after=after, limit=batch)
        if found:
            after = (found[-1].target.cursor_article_id, found[-1].target.id)
        return found

    report = await _run_batches(services, window, now, commit_for, next_batch, batch)
    return _measured("instant", started, report)


def _measured(run: str, started: float, report: DispatchReport) -> DispatchReport:
    """Count a finished run's digests and time (`started`: `time.perf_counter`)."""
    metrics.DIGESTS_COMPOSED.labels(run).inc(report.digests)
    metrics.DIGEST_RUN_DURATION.labels(run).observe(time.perf_counter() - started)
    return report


async def send_pending_now(services: Services, target: Target, now: int) -> int:
    """/digest: queue the target's pending digest now. It counts as delivered
    (the cursor moves, so the next scheduled digest holds only newer articles);
    the schedule stays. Returns the messages queued; 0 when nothing is new."""
    fresh = await get_target_by_id(services.db, target.id)
    if fresh is None:
        return 0
    upto = await articles.newest_id(services.db)
    if fresh.cursor_article_id >= upto:
        return 0
    window = await Window.load(services.db, services.catalogue, fresh.cursor_article_id, upto)
    subscriptions = (await digests.subscriptions_of(services.db, [fresh.id]))[fresh.id]
    matches = await window.matches(_queries({fresh.id: subscriptions}))
    messages = digest_messages(
        services, fresh, window, subscriptions, matches, heading="now", now=now
    )
    commit = DigestCommit(
        fresh.id,
        fresh.cursor_article_id,
        fresh.next_digest_at,
        upto,
        fresh.next_digest_at,
        messages,
        keep_schedule=True,
    )
    applied = await digests.commit_digests(services.db, [commit], now=now)
    if not applied[0] or not messages:
        return 0
    services.wake_sender()
    return len(messages)


async def more_page(
    services: Services, data: str | None, *, pressed_in: Target, now: int
) -> list[DigestMessage] | None:
    """The next page of a digest for a "dg:" button pressed in the chat (or
    forum topic) of target `pressed_in`: the page is that target's.

    None when the data is not a digest button of this chat (forged, or, for a
    button that names its target, the target is gone or another chat's):
    answer with `digest.page_gone`. An empty list when the range holds nothing
    more (articles deleted): answer with `digest.page_empty`. The articles are
    re-read from the store, so a button works after restarts.
    """
    parsed = parse_callback(data)
    if parsed is None:
        return None
    ref, offset = parsed
    target = pressed_in
    if ref.target_id is not None:
        named = await get_target_by_id(services.db, ref.target_id)
        if named is None or named.chat_id != pressed_in.chat_id:
            return None
        target = named
    window = await Window.load(services.db, services.catalogue, ref.after_id, ref.upto_id)
    subscriptions = (await digests.subscriptions_of(services.db, [target.id]))[target.id]
    matches = await window.matches(_queries({target.id: subscriptions}))
    return compose(
        window.select_for(target, subscriptions, matches),
        window.by_id,
        language=target.ui_language,
        timezone=target.timezone,
        now=now,
        heading="more",
        topic_names=services.topic_names(target.ui_language),
        max_items=services.settings.digest_max_items,
        ref=PageRef(window.after_id, ref.upto_id),
        offset=offset,
    )
