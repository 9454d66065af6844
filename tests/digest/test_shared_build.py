"""A run's shared build (`select.Index`, `compose.Composer`, `dispatch.Builder`)
against the straightforward path that builds each target's digest on its own.

The shared build must queue byte for byte what the per-target path queues, so
each of its parts is compared with the function it replaces, on random inputs,
and whole runs are compared on a random population of targets.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.digest import dispatch
from bot.digest.compose import Composer, PageRef, compose
from bot.digest.dispatch import DispatchReport, dispatch_due, dispatch_instant
from bot.digest.select import Group, Index, Selection, select
from bot.formatting import escape, linked_urls, pack, pack_measured, visible_length
from bot.ingest.entry import Entry, Image
from bot.ingest.pipeline import prepare
from bot.services import Services
from bot.store import articles, digests, translations
from bot.store.articles import Article
from bot.store.db import Database
from bot.store.outbox import SharedPart, encode_text
from bot.store.subscriptions import Subscription
from tests.digest.helpers import CATALOGUE, SLUGS, add_target, open_db

ORDER = ["migration", "government", "security", "economy"]
NOW = 1_750_000_000  # 2025-06-15 15:06 UTC
ZONES = ["UTC", "America/Mexico_City", "Europe/Madrid", "Pacific/Auckland", "Asia/Kolkata"]
NAMES = {"en": {"migration": "Migration", "economy": "Economy"}, "es": {"migration": "Migración"}}


@dataclass(frozen=True)
class Item:
    id: int
    topics: tuple[str, ...]
    language: str
    published_at: int


items = st.lists(
    st.builds(
        lambda topics, language, published: (topics, language, published),
        st.lists(st.sampled_from([*ORDER, "elsewhere"]), max_size=3, unique=True).map(tuple),
        st.sampled_from(["en", "es"]),
        st.integers(0, 5),  # few values: ties in time, broken by id
    ),
    max_size=40,
)
subscription_values = st.lists(
    st.tuples(
        st.sampled_from(["topic", "query"]),
        st.sampled_from([*ORDER, "unknown", "border", "Border", "wall", "lang:es x"]),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    found=items,
    values=subscription_values,
    language=st.sampled_from([None, "en", "es"]),
    after=st.integers(0, 45),
    data=st.data(),
)
def test_the_index_selects_what_select_selects(
    found: list[tuple[tuple[str, ...], str, int]],
    values: list[tuple[str, str]],
    language: str | None,
    after: int,
    data: st.DataObject,
) -> None:
    window = [
        Item(i, topics, lang, published) for i, (topics, lang, published) in enumerate(found, 1)
    ]
    ids = [item.id for item in window]
    queries = {value for kind, value in values if kind == "query"}
    matches = {
        query: frozenset(data.draw(st.lists(st.sampled_from(ids), unique=True)))
        if ids
        else frozenset()
        for query in queries
        if data.draw(st.booleans())  # a query missing from the map matches nothing
    }
    subscriptions = [
        Subscription(n, 1, "topic" if kind == "topic" else "query", value)
        for n, (kind, value) in enumerate(values)
    ]
    expected = select(
        [item for item in window if item.id > after],
        subscriptions,
        article_language=language,
        keyword_matches=matches,
        topic_order=ORDER,
    )
    index = Index(window, ORDER)
    for _ in range(2):  # the second time from its caches
        chosen = index.select(
            subscriptions, article_language=language, keyword_matches=matches, after_id=after
        )
        assert chosen == expected


hostile = st.text(
    alphabet=st.sampled_from(list("<>&\"' abcñé😀\n\t")) | st.characters(exclude_categories=["Cs"]),
    max_size=400,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(st.tuples(hostile, hostile), min_size=1, max_size=40),
    split=st.integers(0, 40),
    keywords=st.lists(hostile, min_size=1, max_size=3).map(tuple),
    max_items=st.integers(1, 50),
    offset=st.integers(0, 45),
    language=st.sampled_from(["en", "es"]),
    timezone=st.sampled_from(ZONES),
    heading=st.sampled_from(["daily", "weekly", "instant", "now", "more"]),
    missing=st.sets(st.integers(1, 40), max_size=5),
)
def test_the_composer_packs_what_compose_packs(
    texts: list[tuple[str, str]],
    split: int,
    keywords: tuple[str, ...],
    max_items: int,
    offset: int,
    language: str,
    timezone: str,
    heading: Any,
    missing: set[int],
) -> None:
    window = {
        i: Article(
            i,
            None,
            f"https://example.org/{i}",
            title,
            summary,
            "en",
            NOW - i * 7_200,
            ("migration", "economy")[: i % 3],
        )
        for i, (title, summary) in enumerate(texts, 1)
    }
    ids = tuple(window)
    selection = Selection(
        (Group("migration", ids[:split]), Group(None, ids[split:], keywords))
        if ids[split:]
        else (Group("migration", ids),)
    )
    present = {i: article for i, article in window.items() if i not in missing}  # deleted since
    ref = PageRef(100, 200)
    composer = Composer(present, now=NOW, max_items=max_items, topic_names=NAMES.__getitem__)
    expected = compose(
        selection,
        present,
        language=language,
        timezone=timezone,
        now=NOW,
        heading=heading,
        topic_names=NAMES[language],
        max_items=max_items,
        ref=ref,
        offset=offset,
    )
    got = composer.compose(
        selection, language=language, timezone=timezone, heading=heading, ref=ref, offset=offset
    )
    assert got == expected
    packed = composer.pack(
        selection, language=language, timezone=timezone, heading=heading, offset=offset, encode=True
    )
    assert packed.encoded == tuple(encode_text(text) for text in packed.texts)
    assert packed.urls == tuple(tuple(linked_urls(text)) for text in packed.texts)


def _window(published: list[int]) -> dict[int, Article]:
    return {
        i: Article(i, None, f"https://example.org/{i}", f"Title {i}", "", "en", moment, ())
        for i, moment in enumerate(published, 1)
    }


def test_zones_that_agree_on_every_date_read_a_window_alike() -> None:
    # 14:06 UTC on 15 June: the 15th from Mexico City to Kolkata, the 16th in Auckland.
    composer = Composer(
        _window([NOW - 3_600]), now=NOW, max_items=10, topic_names=NAMES.__getitem__
    )
    assert [composer.zone("en", zone, "daily") for zone in ZONES] == [
        "UTC", "UTC", "UTC", "Pacific/Auckland", "UTC",
    ]  # fmt: skip
    # And 23:06 UTC on the 14th, already the 15th in Madrid and Kolkata.
    composer = Composer(
        _window([NOW - 3_600, NOW - 16 * 3_600]),
        now=NOW,
        max_items=10,
        topic_names=NAMES.__getitem__,
    )
    assert [composer.zone("es", zone, "weekly") for zone in ZONES] == [
        "UTC", "UTC", "Europe/Madrid", "Pacific/Auckland", "Europe/Madrid",
    ]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    published=st.lists(st.integers(NOW - 3 * 86_400, NOW), min_size=1, max_size=12),
    language=st.sampled_from(["en", "es"]),
    heading=st.sampled_from(["daily", "weekly"]),
)
def test_a_zone_and_the_zone_that_reads_it_alike_compose_the_same_digest(
    published: list[int], language: str, heading: Any
) -> None:
    window = _window(published)
    selection = Selection((Group("migration", tuple(window)),))
    composer = Composer(window, now=NOW, max_items=50, topic_names=NAMES.__getitem__)
    for timezone in ZONES:
        alike = composer.zone(language, timezone, heading)
        pages = [
            compose(
                selection,
                window,
                language=language,
                timezone=zone,
                now=NOW,
                heading=heading,
                topic_names=NAMES[language],
                max_items=5,
                ref=PageRef(1, 2),
            )
            for zone in (timezone, alike)
        ]
        assert pages[0] == pages[1]


@settings(max_examples=150, deadline=None)
@given(
    pieces=st.lists(st.tuples(hostile, st.integers(1, 12), st.booleans()), max_size=30),
    header=hostile,
    footer=hostile,
    limit=st.integers(40, 4096),
)
def test_packing_measured_blocks_packs_what_measuring_packs(
    pieces: list[tuple[str, int, bool]], header: str, footer: str, limit: int
) -> None:
    """Any markup the builders make (escaped text in tags), long blocks too."""
    blocks = [
        f"<b>{escape(text * repeat)}</b>" if bold else escape(text * repeat)
        for text, repeat, bold in pieces
    ]
    head, foot = f"<i>{escape(header)}</i>", escape(footer)
    expected = pack(blocks, header=head, footer=foot, limit=limit)
    got = pack_measured(
        [(block, visible_length(block)) for block in blocks],
        header=(head, visible_length(head)),
        footer=(foot, visible_length(foot)),
        limit=limit,
    )
    assert got == expected


# --- whole runs on a random population -----------------------------------------------

WORDS = ["zebra", "okapi", "quokka", "narwhal", "axolotl"]


async def _populate(db: Database, rng: random.Random, *, pairs: bool = False) -> None:
    """Articles in both languages, out of time order, then targets of every kind:
    daily, weekly and instant, chats and forum topics and channels, active or not,
    with cursors before and inside the window and topics and keywords to follow;
    settings are drawn from few values, so that many targets get the same digest.
    With `pairs`, a third of the articles are paired across languages, near and
    far apart, so that cursors fall between the two versions of stories."""
    prepared = []
    for i in range(160):
        words = rng.sample(WORDS, rng.choice([0, 0, 1, 2]))
        entry = Entry(
            title=" ".join([f"Report {i} <&> “quoted”", *words]),
            summary=rng.choice(["", f"Summary {i} & more", "x" * rng.randint(0, 600)]),
            url=f"https://example.org/{i}?a=1&b=2" if i % 7 else None,
            image=Image(f"https://img.example.org/{i}.jpg") if i % 3 == 0 else None,
        )
        article = prepare(entry, source="test", catalogue=CATALOGUE, now=NOW)
        prepared.append(
            dataclasses.replace(
                article,
                topics=tuple(rng.sample(SLUGS, rng.choice([0, 1, 1, 2, 3]))),
                language=rng.choice(["en", "es"]),
                published_at=NOW - rng.randint(0, 4 * 86_400),
            )
        )
    ids = await articles.insert(db, prepared)
    if pairs:
        by_language: dict[str, list[int]] = {"en": [], "es": []}
        for article_id, article in zip(ids, prepared, strict=True):
            by_language[article.language].append(article_id)
        rng.shuffle(by_language["en"])
        rng.shuffle(by_language["es"])
        for en_id, es_id in list(zip(by_language["en"], by_language["es"], strict=False))[:27]:
            await translations.link(db, en_id, es_id, how="text", now=NOW, score=0.9)
    queries = [
        *WORDS,
        "ZEBRA",
        "okapi quokka",
        '"report 1"',
        "lang:es zebra",
        "topic:migration okapi",
        "nothing-at-all",
        '"',
    ]
    async with db.transaction() as tx:
        for chat_id in range(1, 241):
            kind = rng.choice(["private", "private", "supergroup", "channel"])
            await tx.execute(
                "INSERT INTO chats (chat_id, type, is_forum, active, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 0, 0)",
                (chat_id, kind, int(kind == "supergroup"), int(rng.random() > 0.1)),
            )
            for thread_id in [0, 5, 9][: 3 if kind == "supergroup" else 1]:
                mode = rng.choice(["daily", "weekly", "instant", "instant"])
                cursor = await tx.execute(
                    "INSERT INTO targets (chat_id, thread_id, active, ui_language,"
                    " article_language, digest_mode, digest_minute, digest_weekday, timezone,"
                    " cursor_article_id, next_digest_at, link_previews, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) RETURNING id",
                    (
                        chat_id,
                        thread_id,
                        int(rng.random() > 0.1),
                        rng.choice(["en", "es"]),
                        rng.choice([None, None, "en", "es"]),
                        mode,
                        rng.choice([480, 480, 0, 1_439]),
                        rng.randint(0, 6),
                        rng.choice(["UTC", "UTC", "America/Mexico_City", rng.choice(ZONES)]),
                        rng.choice([0, ids[0] - 1, ids[40], ids[100], ids[-2], rng.choice(ids)]),
                        # A few instant targets keep the time of the daily digest they
                        # were switched from (a run unschedules them on its own).
                        None
                        if mode == "instant" and rng.random() < 0.9
                        else NOW - rng.choice([60, 3_600]),
                        int(rng.random() > 0.3),  # link previews, on by default
                    ),
                )
                target_id = (await cursor.fetchone())[0]
                # Few topics and cursors, so that many targets share their digest.
                followed = rng.sample(SLUGS[:4], rng.choice([0, 1, 1, 2, 3]))
                words = rng.sample(queries, rng.choice([0, 0, 1, 2]))
                await tx.executemany(
                    "INSERT INTO subscriptions (target_id, kind, value, created_at)"
                    " VALUES (?, ?, ?, 0)",
                    [(target_id, "topic", slug) for slug in followed]
                    + [(target_id, "query", text) for text in words],
                )
        # Chats whose one target copies another's settings and subscriptions (the
        # same subscriptions made in another order, some): they get the same digest.
        models = [
            row[0]
            for row in await (
                await tx.execute(
                    "SELECT id FROM targets WHERE next_digest_at IS NOT NULL ORDER BY id"
                )
            ).fetchall()
        ]
        for chat_id in range(1_001, 1_061):
            model = rng.choice(models)
            await tx.execute(
                "INSERT INTO chats (chat_id, type, is_forum, active, created_at, updated_at)"
                " VALUES (?, 'private', 0, 1, 0, 0)",
                (chat_id,),
            )
            cursor = await tx.execute(
                "INSERT INTO targets (chat_id, thread_id, active, ui_language, article_language,"
                " digest_mode, digest_minute, digest_weekday, timezone, cursor_article_id,"
                " next_digest_at, link_previews, created_at)"
                " SELECT ?, 0, active, ui_language, article_language, digest_mode,"
                " digest_minute, ?, timezone, cursor_article_id, next_digest_at,"
                " link_previews, 0 FROM targets WHERE id = ? RETURNING id",
                (chat_id, rng.randint(0, 6), model),  # the weekday matters to weekly ones only
            )
            copy_id = (await cursor.fetchone())[0]
            copied = list(
                await (
                    await tx.execute(
                        "SELECT kind, value FROM subscriptions WHERE target_id = ? ORDER BY id",
                        (model,),
                    )
                ).fetchall()
            )
            topics = [row for row in copied if row[0] == "topic"]
            rng.shuffle(topics)
            await tx.executemany(
                "INSERT INTO subscriptions (target_id, kind, value, created_at)"
                " VALUES (?, ?, ?, 0)",
                [
                    (copy_id, kind, value)
                    for kind, value in [*topics, *(row for row in copied if row[0] == "query")]
                ],
            )


@dataclass(frozen=True)
class Outcome:
    due: DispatchReport
    instant: DispatchReport
    outbox: dict[tuple[int, int], list[tuple[Any, ...]]]
    """Every row as queued, with its full request, in queue order, for each chat
    and forum topic: what each gets, and in which order. (Rows of different
    targets may interleave differently: a run queues the targets it commits by
    group before those it builds one by one.)"""
    targets: list[tuple[Any, ...]]  # every cursor and schedule afterwards
    stored: int = dataclasses.field(compare=False)  # bytes of requests stored
    grouped: tuple[int, ...] = dataclasses.field(compare=False)  # groups, targets, largest


async def _run(path: Path | str, settings: Settings, *, reference: bool, batch: int) -> Outcome:
    db = await Database.open(path)
    try:
        services = Services(settings, db, CATALOGUE)
        page = await digests.due_groups(db, NOW, limit=10**6)
        sizes = [group.targets for group in page.groups]
        grouped = (len(sizes), sum(sizes), max(sizes, default=0))
        due = await dispatch_due(services, NOW, batch=batch, reference=reference)
        instant = await dispatch_instant(services, NOW, batch=batch, reference=reference)
        rows = await db.fetchall(
            "SELECT chat_id, thread_id, target_id, kind, priority, method, request,"
            " not_before, created_at FROM outbox_requests ORDER BY id"
        )
        outbox: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
        for row in rows:
            outbox.setdefault((row[0], row[1]), []).append(tuple(row))
        targets = await db.fetchall(
            "SELECT id, cursor_article_id, last_digest_at, next_digest_at FROM targets ORDER BY id"
        )
        stored = await db.fetchval(
            "SELECT (SELECT coalesce(sum(length(payload)), 0) FROM outbox)"
            " + (SELECT coalesce(sum(length(payload)), 0) FROM outbox_payloads)"
        )
        return Outcome(due, instant, outbox, [tuple(r) for r in targets], stored, grouped)
    finally:
        await db.close()


async def _population(folder: Path, rng: random.Random, pairs: bool, *names: str) -> list[Path]:
    """A `_populate`d database, once per name: runs to compare start from the same."""
    base = folder / "population.sqlite3"
    base.unlink(missing_ok=True)
    db = await open_db(base)
    try:
        await _populate(db, rng, pairs=pairs)
    finally:
        await db.close()
    copies = [folder / f"{name}.sqlite3" for name in names]
    for copy in copies:
        shutil.copyfile(base, copy)
    return copies


async def test_a_run_queues_what_building_each_target_alone_queues(
    tmp_path: Path, settings: Settings
) -> None:
    for seed, pairs in ((1, False), (2, False), (3, False), (4, True)):
        rng = random.Random(seed)
        shared_path, alone_path = await _population(tmp_path, rng, pairs, "shared", "alone")
        batch = rng.choice([7, 50, 500])
        shared = await _run(shared_path, settings, reference=False, batch=batch)
        alone = await _run(alone_path, settings, reference=True, batch=batch)
        queued = [row for rows in alone.outbox.values() for row in rows]
        assert alone.due.digests > 20, seed
        assert alone.instant.digests > 20, seed
        # Due targets committed by group, several to some groups, and some on their own.
        groups, grouped, largest = shared.grouped
        assert groups > 20, seed
        assert largest > 1, seed
        assert grouped < alone.due.targets, seed
        assert any("reply_markup" in row[6] for row in queued)  # paged digests among them
        assert any(row[3] == "post" for row in queued)  # and channel posts
        # Posts and one-article instant digests of articles with an image, as photos.
        assert {row[3] for row in queued if row[5] == "sendPhoto"} == {"post", "digest"}
        # Pages that lead with an article's preview, and targets that turned them off.
        assert any('"link_preview_options":{"url":' in row[6] for row in queued)
        assert any('"link_preview_options":{"is_disabled":true}' in row[6] for row in queued)
        assert shared == alone, seed
        assert shared.stored < alone.stored, seed  # pages many targets get are stored once


async def test_a_run_that_lets_go_of_its_kept_pages_queues_the_same(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A population whose chats mostly get pages of their own would keep too much:
    # past `_ALIKE_BYTES` the run builds them again, and queues the same.
    kept_path, let_go_path = await _population(tmp_path, random.Random(5), False, "kept", "let-go")
    kept = await _run(kept_path, settings, reference=False, batch=7)
    monkeypatch.setattr(dispatch, "_ALIKE_BYTES", 0)
    let_go = await _run(let_go_path, settings, reference=False, batch=7)
    assert kept.due.digests > 20
    assert let_go == kept


async def test_a_group_commit_skips_targets_whose_cursor_or_time_moved_since_the_read(
    tmp_path: Path,
) -> None:
    """What `commit_digests` checks target by target, the set-wise commit checks
    for each target of a group: a target another builder committed meanwhile
    (cursor moved) or whose schedule changed (time moved) gets nothing and is
    left as it is; the others get the group's pages, in order, and move on."""
    db = await open_db(tmp_path / "groups.sqlite3")
    try:
        ids = []
        for chat_id in range(1, 6):
            target = await add_target(db, chat_id, topics=["migration"], now=NOW)
            ids.append(target.id)
        async with db.transaction() as tx:
            await tx.execute(
                "UPDATE targets SET next_digest_at = ?, cursor_article_id = 7", (NOW - 60,)
            )
        page = await digests.due_groups(db, NOW)
        assert [group.targets for group in page.groups] == [5]
        async with db.transaction() as tx:  # meanwhile: /digest sent one, one changed its time
            await tx.execute("UPDATE targets SET cursor_article_id = 9 WHERE id = ?", (ids[1],))
            await tx.execute("UPDATE targets SET next_digest_at = ? WHERE id = ?", (NOW, ids[3]))
        pages = (SharedPart('{"text":"one"}'), SharedPart('{"text":"two"}'))
        done = await digests.commit_groups(
            db, [(page.groups[0], digests.GroupDigest(NOW + 86_400, pages))], now=NOW, upto_id=20
        )
        assert done == [3]
        rows = await db.fetchall("SELECT target_id, request FROM outbox_requests ORDER BY id")
        committed = [ids[0], ids[2], ids[4]]
        assert [(row[0], row[1]) for row in rows] == [
            (target_id, text)
            for target_id in committed
            for text in ('{"text":"one"}', '{"text":"two"}')
        ]
        states = await db.fetchall(
            "SELECT id, cursor_article_id, next_digest_at, last_digest_at FROM targets ORDER BY id"
        )
        assert [tuple(row) for row in states] == [
            (ids[0], 20, NOW + 86_400, NOW),
            (ids[1], 9, NOW - 60, None),
            (ids[2], 20, NOW + 86_400, NOW),
            (ids[3], 7, NOW, None),
            (ids[4], 20, NOW + 86_400, NOW),
        ]
    finally:
        await db.close()


async def test_targets_that_differ_only_in_queries_matching_nothing_are_one_group(
    tmp_path: Path,
) -> None:
    """A run evaluates the page's keyword queries first and SQLite leaves those
    that match nothing out of the groups: a target whose keywords found nothing
    new shares its topics' group, one whose keywords did keeps its own."""
    db = await open_db(tmp_path / "unmatched.sqlite3")
    try:
        lithium = await add_target(db, 1, topics=["migration"], queries=["lithium"], now=NOW)
        cobalt = await add_target(
            db, 2, topics=["migration"], queries=["cobalt", "nickel"], now=NOW
        )
        plain = await add_target(db, 3, topics=["migration"], now=NOW)
        async with db.transaction() as tx:
            await tx.execute("UPDATE targets SET next_digest_at = ?", (NOW - 60,))
        assert sorted(await digests.due_queries(db, NOW)) == ["cobalt", "lithium", "nickel"]
        every = await digests.due_groups(db, NOW)
        assert sorted(group.queries for group in every.groups) == [
            (),
            ("cobalt", "nickel"),
            ("lithium",),
        ]
        page = await digests.due_groups(db, NOW, unmatched=["cobalt", "nickel"])
        found = {group.queries: sorted(json.loads(group.ids)) for group in page.groups}
        assert found == {("lithium",): [lithium.id], (): sorted([cobalt.id, plain.id])}
        page = await digests.due_groups(db, NOW, unmatched=["nickel"])
        assert sorted(group.queries for group in page.groups) == [(), ("cobalt",), ("lithium",)]
    finally:
        await db.close()
