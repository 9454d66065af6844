"""One feed as /feeds shows it."""

from __future__ import annotations

from dataclasses import replace

from bot.admin.feed_management import feed_block
from bot.store.feeds import Feed

DAY = 24 * 3600
NOW = 1_767_225_600  # 2026-01-01 00:00 UTC

FEED = Feed(
    id=3,
    url="https://example.org/feed?a=1&b=<2>",
    title="News & <Views>",
    language=None,
    poll_minutes=None,
    origin="admin",
    etag=None,
    last_modified=None,
    added_at=NOW - 10 * DAY,
    added_by=1,
    removed_at=None,
    last_polled_at=NOW - 60,
    last_ok_at=NOW - 60,
    last_new_at=NOW - 2 * DAY,
    next_poll_at=NOW + 900,
    failure_count=0,
    failing_since=None,
    failure_reported=False,
    last_error=None,
)


def test_a_healthy_feed_escaped() -> None:
    text = feed_block(FEED, 42, now=NOW, language="en", timezone="UTC")
    assert text.startswith("<b>#3</b> News &amp; &lt;Views&gt;")
    assert "https://example.org/feed?a=1&amp;b=&lt;2&gt;" in text
    assert "✅ ok · last new article: Dec 30, 2025 · 42 articles" in text


def test_a_failing_feed_says_since_when_and_why() -> None:
    failing = replace(
        FEED,
        failure_count=9,
        failing_since=NOW - 3 * DAY,
        failure_reported=True,
        last_error="HTTP 500 from <example.org>",
        last_new_at=None,
    )
    text = feed_block(failing, 0, now=NOW, language="es", timezone="UTC")
    assert "❌ falla desde el 29 dic 2025 (HTTP 500 from &lt;example.org&gt;)" in text
    assert "último artículo nuevo: nunca" in text
