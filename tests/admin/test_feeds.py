"""/feed_add, /feeds, /feed_remove, /ingest, /export and /import through the bot,
against a local HTTP server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.emulator import Emulator
from bot.store import admin, articles, feeds, subscriptions
from bot.store.chats import get_target, update_target
from tests.admin.conftest import ADMIN, FeedServer, add_readers, closed_port, running
from tests.harness import Harness


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/page.html", "is not an RSS or Atom feed"),
        ("/slow", "did not answer within 0.5 s"),
        ("/huge", "larger than 1 MB"),
        ("file:///etc/passwd", "only http(s) URLs can be fed (not file:)"),
        ("closed", "refused the connection"),
    ],
)
async def test_feed_add_refuses_what_is_not_a_reachable_feed(
    admin_harness: Harness, feed_server: FeedServer, url: str, reason: str
) -> None:
    harness = admin_harness
    db = harness.services.db
    before = await articles.count(db)
    if url == "closed":
        url = f"http://127.0.0.1:{closed_port()}/feed.xml"
    elif url.startswith("/"):
        url = feed_server.url(url)
    answer = await harness.say(ADMIN, ADMIN, f"/feed_add {url}")
    assert (answer.text or "").startswith("❌ Not added:"), answer.text
    assert reason in (answer.text or "")
    assert await feeds.list_feeds(db, include_removed=True) == []
    assert await articles.count(db) == before
    assert await admin.audit_entries(db) == []


async def test_add_list_poll_and_remove_a_feed(
    admin_harness: Harness, feed_server: FeedServer
) -> None:
    harness = admin_harness
    db = harness.services.db
    url = feed_server.url("/feed.xml")
    answer = await harness.say(ADMIN, ADMIN, f"/feed_add {url}")
    assert (answer.text or "").startswith("✅ Added feed #1")
    stored = await feeds.list_feeds(db)
    assert [feed.url for feed in stored] == [url]
    count = (await admin.articles_per_feed(db))[stored[0].id]
    assert count > 0
    assert f"{count} new articles" in (answer.text or "")

    answer = await harness.say(ADMIN, ADMIN, f"/feed_add {url}")
    assert "already polled: #1" in (answer.text or "")

    listing = await harness.say(ADMIN, ADMIN, "/feeds")
    assert "Feeds (1)" in (listing.text or "")
    assert "✅ ok" in (listing.text or "")
    assert f"{count} articles" in (listing.text or "")

    polled = await harness.say(ADMIN, ADMIN, "/ingest")
    assert "Polled 1 feed:" in (polled.text or "")
    assert "0 new articles" in (polled.text or "")
    assert feed_server.requests.count("/feed.xml") == 2

    removed = await harness.say(ADMIN, ADMIN, "/feed_remove 1")
    assert "no longer polled" in (removed.text or "")
    assert await feeds.list_feeds(db) == []
    assert (await admin.articles_per_feed(db))[stored[0].id] == count
    answer = await harness.say(ADMIN, ADMIN, "/feed_remove 1")
    assert "No feed #1" in (answer.text or "")
    actions = [entry.action for entry in await admin.audit_entries(db)]
    assert actions == ["feed_remove", "ingest", "feeds", "feed_add"]


async def test_ingest_reports_new_articles(admin_harness: Harness, feed_server: FeedServer) -> None:
    harness = admin_harness
    services = harness.services
    await feeds.add_feed(services.db, feed_server.url("/feed.xml"), now=services.now() + 3600)
    answer = await harness.say(ADMIN, ADMIN, "/ingest")
    assert "Polled 1 feed: 0 unchanged, 0 failed" in (answer.text or "")
    assert "New:" in (answer.text or "")
    assert answer.text is not None
    assert answer.text.count("•") >= 1


async def test_opml_export_then_import_into_an_empty_store(
    emulator: Emulator, admin_settings: Settings, tmp_path: Path
) -> None:
    listed = [
        ("https://one.example/feed.xml", "One & Only", "es", 30),
        ("https://two.example/rss", None, None, None),
        ("http://three.example/atom", "Three <3>", "en", None),
    ]
    async with running(emulator, admin_settings) as harness:
        for url, title, language, minutes in listed:
            await feeds.add_feed(
                harness.services.db,
                url,
                now=harness.services.now(),
                title=title,
                language=language,
                poll_minutes=minutes,
            )
        emulator.send_user_message(ADMIN, ADMIN, "/export")
        exported = await emulator.wait_for_bot_message(ADMIN, lambda m: m.document is not None)
    assert exported.document is not None
    assert exported.document.file_name == "feeds.opml"
    assert exported.caption == "3 feeds (OPML)"
    data = exported.document.data

    empty = admin_settings.model_copy(update={"database_path": tmp_path / "empty.sqlite3"})
    async with running(emulator, empty) as harness:
        assert await feeds.list_feeds(harness.services.db) == []
        emulator.send_user_document(ADMIN, ADMIN, data, "feeds.opml", caption="/import")
        answer = await emulator.wait_for_bot_message(ADMIN, lambda m: "Imported" in (m.text or ""))
        assert "3 feeds added, 0 already polled, 0 skipped" in (answer.text or "")
        imported = await feeds.list_feeds(harness.services.db)
        again = await harness.say(ADMIN, ADMIN, "/import")
        assert "Send an .opml file" in (again.text or "")
    assert [(f.url, f.title, f.language, f.poll_minutes) for f in imported] == listed


async def test_import_refuses_a_file_with_a_dtd(admin_harness: Harness) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><opml><body>'
        b'<outline text="&b;" xmlUrl="https://x.example/feed"/></body></opml>'
    )
    admin_harness.emulator.send_user_document(ADMIN, ADMIN, bomb, "bomb.opml", caption="/import")
    answer = await admin_harness.emulator.wait_for_bot_message(ADMIN)
    assert "Not imported" in (answer.text or "")
    assert "DTD" in (answer.text or "")
    assert await feeds.list_feeds(admin_harness.services.db) == []


BREAKING = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
    "<item><title>Migrants cross the border at dawn</title><guid>breaking-1</guid>"
    "<link>https://news.example/breaking-1</link></item></channel></rss>"
)


@pytest.mark.parametrize("command", ["/ingest", "/feed_add"])
async def test_new_articles_reach_instant_subscribers_without_the_minute_job(
    admin_harness: Harness, emulator: Emulator, command: str
) -> None:
    """The jobs never run here (run_jobs=False): only the command itself can have
    queued the story for the readers who follow its topic instantly."""
    harness = admin_harness
    services, db = harness.services, harness.services.db
    newest = await articles.newest_id(db)
    readers = await add_readers(services, emulator, 3)
    for reader in readers:
        target = await get_target(db, reader)
        assert target is not None
        await subscriptions.add(db, target.id, "topic", "migration", services.now())
        assert target.cursor_article_id == newest, "a new reader starts from now"
        await update_target(db, target.id, digest_mode="instant", next_digest_at=None)
    emulator.feeds.publish("breaking.xml", BREAKING)
    url = emulator.feed_url("breaking.xml")
    if command == "/ingest":
        await feeds.add_feed(db, url, now=services.now() + 3600)  # not due: /ingest polls it
        await harness.say(ADMIN, ADMIN, "/ingest")
    else:
        await harness.say(ADMIN, ADMIN, f"/feed_add {url}")
    for reader in readers:
        message = await emulator.wait_for_bot_message(reader)
        assert "Migrants cross the border at dawn" in (message.text or "")
    assert [len(emulator.bot_messages(reader)) for reader in readers] == [1, 1, 1]
