"""Digests end to end on a real database, with time moved explicitly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.digest import dispatch
from bot.digest.dispatch import dispatch_due, dispatch_instant, more_page, send_pending_now
from bot.services import Services
from bot.store.chats import Target, get_target_by_id, update_target
from bot.store.db import Database
from tests.digest.helpers import add_article, add_target

DAY = 86_400
# 2025-06-02 00:00 UTC, a Monday; Mexico City is UTC-6 all year.
MONDAY = int(datetime(2025, 6, 2, tzinfo=UTC).timestamp())
EIGHT_IN_MEXICO = MONDAY + 14 * 3600


async def rows(db: Database, target: Target | None = None) -> list[dict[str, object]]:
    found = await db.fetchall(
        "SELECT chat_id, thread_id, target_id, kind, request AS payload FROM outbox_requests"
        " WHERE :target IS NULL OR target_id = :target ORDER BY id",
        {"target": None if target is None else target.id},
    )
    return [
        {
            "chat_id": row["chat_id"],
            "thread_id": row["thread_id"],
            "kind": row["kind"],
            **json.loads(row["payload"]),
        }
        for row in found
    ]


async def refreshed(db: Database, target: Target) -> Target:
    found = await get_target_by_id(db, target.id)
    assert found is not None
    return found


async def scheduled(db: Database, target: Target, now: int) -> Target:
    return await update_target(db, target.id, next_digest_at=dispatch.reschedule(target, now))


async def test_a_new_matching_article_reaches_an_instant_target(services: Services) -> None:
    db = services.db
    follower = await add_target(db, 1, topics=["migration"], digest_mode="instant")
    stranger = await add_target(db, 2, topics=["history"], digest_mode="instant")
    keyword = await add_target(db, -100, thread_id=5, queries=["caravan"], digest_mode="instant")
    await add_article(db, "Caravan reaches the border", ["migration"])
    report = await dispatch_instant(services, MONDAY)
    assert (report.targets, report.digests) == (3, 2)
    [message] = await rows(db, follower)
    assert message["chat_id"] == 1
    assert message["kind"] == "digest"
    assert "Caravan reaches the border" in str(message["text"])
    assert "New articles" in str(message["text"])
    # One article: its own preview, not whichever link Telegram would pick.
    url = await db.fetchval("SELECT url FROM articles WHERE title = 'Caravan reaches the border'")
    assert message["link_preview_options"] == {"url": url, "prefer_large_media": True}
    [topic_message] = await rows(db, keyword)
    assert (topic_message["chat_id"], topic_message["thread_id"]) == (-100, 5)
    assert await rows(db, stranger) == []
    # Everyone has seen it now, matching or not: nothing is sent again.
    assert (await refreshed(db, stranger)).cursor_article_id == (
        await refreshed(db, follower)
    ).cursor_article_id
    assert (await dispatch_instant(services, MONDAY + 60)).targets == 0
    assert len(await rows(db)) == 2


async def test_a_daily_target_gets_its_digest_once_at_its_local_time(services: Services) -> None:
    db = services.db
    target = await add_target(db, 1, topics=["migration"], timezone="America/Mexico_City")
    target = await scheduled(db, target, MONDAY)
    assert target.next_digest_at == EIGHT_IN_MEXICO
    await add_article(db, "Border deal signed", ["migration"])
    for now in (MONDAY, EIGHT_IN_MEXICO - 60, EIGHT_IN_MEXICO - 1):
        await dispatch_due(services, now)
        await dispatch_instant(services, now)
    assert await rows(db) == []
    for now in range(EIGHT_IN_MEXICO, EIGHT_IN_MEXICO + DAY - 60, 3_600):
        await dispatch_due(services, now)
    [message] = await rows(db)
    assert "Border deal signed" in str(message["text"])
    assert "June 2, 2025" in str(message["text"])
    target = await refreshed(db, target)
    assert target.next_digest_at == EIGHT_IN_MEXICO + DAY
    assert target.last_digest_at == EIGHT_IN_MEXICO
    # The next day holds only what is new since.
    await add_article(db, "Asylum rules change", ["migration"])
    await dispatch_due(services, EIGHT_IN_MEXICO + DAY)
    second = (await rows(db))[1:]
    assert len(second) == 1
    assert "Asylum rules change" in str(second[0]["text"])
    assert "Border deal signed" not in str(second[0]["text"])


async def test_a_target_without_a_schedule_gets_one(services: Services) -> None:
    db = services.db
    target = await add_target(db, 1, topics=["migration"], digest_mode="weekly", digest_weekday=2)
    assert target.next_digest_at is None
    await dispatch_due(services, MONDAY)
    target = await refreshed(db, target)
    assert target.next_digest_at == MONDAY + 2 * DAY + 8 * 3600


async def test_nothing_matching_means_no_message_but_the_schedule_moves(
    services: Services,
) -> None:
    db = services.db
    target = await scheduled(db, await add_target(db, 1, topics=["history"]), MONDAY)
    await add_article(db, "Border deal signed", ["migration"])
    report = await dispatch_due(services, MONDAY + 8 * 3600)
    assert (report.targets, report.digests) == (1, 0)
    assert await rows(db) == []
    target = await refreshed(db, target)
    assert target.next_digest_at == MONDAY + DAY + 8 * 3600
    assert target.cursor_article_id > 0


async def test_catch_up_after_downtime_gives_exactly_one_digest(services: Services) -> None:
    db = services.db
    target = await scheduled(db, await add_target(db, 1, topics=["migration"]), MONDAY)
    await add_article(db, "Border deal signed", ["migration"])
    await add_article(db, "Asylum rules change", ["migration"])
    back = MONDAY + 3 * DAY + 5 * 3600  # down from Monday to Thursday 05:00
    await dispatch_due(services, back)
    await dispatch_due(services, back + 60)
    messages = await rows(db)
    assert len(messages) == 1
    assert "Asylum rules change" in str(messages[0]["text"])
    target = await refreshed(db, target)
    assert target.next_digest_at == MONDAY + 3 * DAY + 8 * 3600  # today's, computed from now


async def test_an_inactive_chat_gets_nothing_and_moves_on(services: Services) -> None:
    db = services.db
    target = await scheduled(db, await add_target(db, 1, topics=["migration"]), MONDAY)
    await add_article(db, "Border deal signed", ["migration"])
    async with db.transaction() as tx:
        await tx.execute("UPDATE chats SET active = 0 WHERE chat_id = 1")
    await dispatch_due(services, MONDAY + 8 * 3600)
    assert await rows(db) == []
    assert (await refreshed(db, target)).next_digest_at == MONDAY + DAY + 8 * 3600


async def test_the_digest_command_sends_now_and_counts_as_delivered(services: Services) -> None:
    db = services.db
    target = await scheduled(db, await add_target(db, 1, topics=["migration"]), MONDAY)
    assert await send_pending_now(services, target, MONDAY) == 0
    await add_article(db, "Border deal signed", ["migration"])
    assert await send_pending_now(services, target, MONDAY + 60) == 1
    assert "Your digest" in str((await rows(db))[0]["text"])
    assert await send_pending_now(services, target, MONDAY + 120) == 0
    saved = await refreshed(db, target)
    assert saved.next_digest_at == target.next_digest_at
    assert saved.last_digest_at == MONDAY + 60
    await dispatch_due(services, MONDAY + 8 * 3600)  # the scheduled one has nothing left
    assert len(await rows(db)) == 1


async def test_show_more_pages_through_the_rest_from_the_store(services: Services) -> None:
    db = services.db
    services.settings.digest_max_items = 3
    target = await add_target(db, 1, topics=["migration"], queries=["zebra"], digest_mode="instant")
    for i in range(5):
        await add_article(db, f"Border story {i}", ["migration"], now=1_000 + i)
    await add_article(db, "A zebra escaped", [], now=2_000)
    await dispatch_instant(services, MONDAY)
    [message] = await rows(db)
    text = str(message["text"])
    assert "Border story 4" in text
    assert "Border story 1" not in text
    [[button]] = message["reply_markup"]["inline_keyboard"]  # type: ignore[index]
    assert button["text"] == "Show 3 more"
    page = await more_page(services, button["callback_data"], pressed_in=target, now=MONDAY)
    assert page is not None
    [second] = page
    assert "Border story 1" in second.text
    assert "Border story 0" in second.text
    assert "A zebra escaped" in second.text
    assert "4. " in second.text
    assert second.reply_markup is None
    # The button names no target: pressed elsewhere, it pages for where it is pressed.
    other = await add_target(db, 2, topics=["economy"])
    assert await more_page(services, button["callback_data"], pressed_in=other, now=MONDAY) == []
    # One made when buttons named their target works in its own chat only.
    named = f"dg:{target.id}:{button['callback_data'].removeprefix('dg:')}"
    assert await more_page(services, named, pressed_in=target, now=MONDAY) == page
    assert await more_page(services, named, pressed_in=other, now=MONDAY) is None
    assert await more_page(services, "dg:999:0:10:3", pressed_in=target, now=MONDAY) is None
    assert await more_page(services, "st:time:8", pressed_in=target, now=MONDAY) is None


async def test_a_failing_target_does_not_stop_the_others(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = services.db
    bad = await add_target(db, 1, topics=["migration"], digest_mode="instant")
    good = await add_target(db, 2, topics=["migration"], digest_mode="instant")
    await add_article(db, "Border deal signed", ["migration"])
    real = dispatch.Builder.pages

    def flaky(builder: dispatch.Builder, target: Target, *args: object, **kwargs: object) -> object:
        if target.id == bad.id:
            raise RuntimeError("boom")
        return real(builder, target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dispatch.Builder, "pages", flaky)
    report = await dispatch_instant(services, MONDAY)
    assert (report.digests, report.failed) == (1, 1)
    assert len(await rows(db, good)) == 1
    assert (await refreshed(db, bad)).cursor_article_id == 0  # retried next run


async def test_a_zone_no_longer_known_fails_its_own_digest_only(services: Services) -> None:
    # A target stored with a zone this machine's tz database no longer has.
    db = services.db
    good = await scheduled(db, await add_target(db, 1, topics=["migration"]), MONDAY)
    lost = await add_target(db, 2, topics=["migration"])
    await add_article(db, "Border deal signed", ["migration"])
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE targets SET timezone = 'Mars/Olympus_Mons', next_digest_at = ? WHERE id = ?",
            (good.next_digest_at, lost.id),
        )
    assert good.next_digest_at is not None
    report = await dispatch_due(services, good.next_digest_at)
    assert [message["chat_id"] for message in await rows(db)] == [1]
    assert report.failed == 1
