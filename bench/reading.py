"""The 📖 Read conversion: a stored 50 kB article into Telegram messages.

The timed path is what a press costs the bot between reading the stored HTML
and sending: `bot.reader.reading.reading` (sulguk's conversion to text and
entities, the split under 4,096 UTF-16 units, the cap). The input is the
article as the ingest stores it (`sanitise`d by nh3). The reference, measured
in the same run on the same article, is that nh3 sanitising alone: what the
ingest already pays once per article, so the ratio says how much dearer a
press is than the cheapest pass any code must make over the HTML.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from bench import Options, say
from bench.report import Row, Target
from bot.ingest.content import sanitise
from bot.reader.reading import reading
from bot.store.articles import Article

TARGET = Target("<=", 250, "ms")
URL = "https://news.example.org/2024/a-long-feature"


def article_html(size: int = 52_000) -> str:
    """A long feature as a feed's content:encoded carries it: headings,
    paragraphs with links and emphasis, lists, quotes, figures, emoji."""
    sections: list[str] = []
    n = 0
    while sum(map(len, sections)) < size:
        n += 1
        sections.append(
            f"<h2>Part {n}: the road north</h2>"
            f"<p>Families <strong>waited</strong> for days at the crossing, said "
            f'<a href="https://news.example.org/people/{n}">one volunteer</a>, while '
            f"<em>officials</em> counted arrivals 🚌 and the shelters filled. "
            "The report describes long queues, cold nights and a shortage of water, "
            "and the town's council asked for help from the regional government.</p>"
            "<ul><li>Shelters at capacity<ul><li>two opened this week</li></ul></li>"
            "<li>Medical teams on site</li></ul>"
            "<blockquote>We did not know whether we would be allowed through.</blockquote>"
            f'<figure><img src="https://cdn.example.org/photos/{n}.jpg" alt="The crossing"'
            ' width="1200" height="800"><figcaption>The crossing at dawn.</figcaption></figure>'
            "<script>track()</script>"
        )
    return "".join(sections)


def _median(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def run(options: Options) -> list[Row]:
    raw = article_html()
    stored = sanitise(raw, base=URL)
    assert stored is not None
    article = Article(1, None, URL, "A long feature", "summary", "en", 0)
    say(options, f"read: converting a {len(stored.html.encode()) / 1000:.0f} kB article")
    parts = reading(article, stored, language="en", max_parts=50)
    rounds = max(options.rounds, 5)
    convert = _median(lambda: reading(article, stored, language="en", max_parts=50), rounds)
    clean = _median(lambda: sanitise(raw, base=URL), rounds)
    return [
        Row(
            f"📖 Read: a {len(stored.html.encode()) / 1000:.0f} kB article into messages",
            convert * 1000,
            "ms",
            reference="nh3 sanitising the same article (paid once at ingest)",
            reference_value=clean * 1000,
            target=TARGET,
            detail=(
                f"sulguk conversion + split + cap: {len(parts)} messages,"
                f" {sum(len(p.entities) for p in parts):,} entities; median of {rounds} runs"
            ),
        )
    ]
