"""OPML reading (safely) and writing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.admin.opml import MAX_BYTES, OpmlError, OpmlFeed, read_opml, write_opml

FEEDS = [
    OpmlFeed("https://example.org/feed.xml", "Example & Co <news>", "es", 30),
    OpmlFeed("http://example.com/rss", None, None, None),
]


def test_round_trip_keeps_every_field() -> None:
    data = write_opml(FEEDS, title="Feeds", created=datetime(2025, 1, 2, tzinfo=UTC))
    assert data.startswith(b"<?xml")
    assert read_opml(data).feeds == FEEDS


def test_reads_nested_folders_skips_other_schemes_and_duplicates() -> None:
    data = b"""<?xml version="1.0"?>
<opml version="1.0"><head/><body>
  <outline text="Folder">
    <outline text="A" type="rss" xmlUrl="https://a.example/feed"/>
    <outline text="B" xmlUrl="file:///etc/passwd"/>
  </outline>
  <outline text="A again" xmlUrl="https://a.example/feed"/>
  <outline text="no url"/>
</body></opml>"""
    document = read_opml(data)
    assert document.feeds == [OpmlFeed("https://a.example/feed", "A")]
    assert document.skipped == ["file:///etc/passwd"]


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body>'
        b'<outline text="&a;" xmlUrl="https://x.example/"/></body></opml>',
        b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml/>',
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;&lol;">]><opml>&lol2;</opml>',
    ],
)
def test_dtds_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(OpmlError, match="DTD"):
        read_opml(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<rss><channel/></rss>", "not an OPML"),
        (b"<opml><body>", "not well-formed"),
        (b"\xff\xfe garbage", "not well-formed"),
        (b"<opml>" + b" " * MAX_BYTES + b"</opml>", "larger than"),
    ],
)
def test_other_files_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        read_opml(data)


def test_too_many_feeds_are_refused() -> None:
    outlines = b"".join(b'<outline xmlUrl="https://x.example/%d"/>' % i for i in range(5))
    with pytest.raises(OpmlError, match="more than 3"):
        read_opml(b"<opml><body>" + outlines + b"</body></opml>", max_feeds=3)
