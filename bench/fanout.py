"""A breaking story to every instant subscriber, from the admin's /ingest to the last one.

The whole path, as in production: the bot runs as `python -m bot run` in its own
process, polling a standalone emulator (`python -m bot.emulator --limits`) that
enforces Telegram's flood limits (30 messages in any one second, about one a
second per chat) and also serves the publication's feed. N private chats follow
a topic in instant mode. The feed gains one article on that topic, an admin
sends /ingest, and the bot polls the feed, stores the article, queues it for
every subscriber and sends it. Everything is read off the emulator's request
log (its own clock, at the moment it judged each request):

* the rate: (deliveries − 1) / (last − first), beside Telegram's 30 msg/s;
* from the ingest (just before the admin's message is posted) to the first
  subscriber's message;
* subscribers reached twice or not at all, and 429 answers;
* the most messages the emulator saw in any one second (a sliding window over
  its log's times, every sendMessage whatever its answer).

Then reply latency: users who are not subscribers send /latest (each from
another user, so no chat's own pacing holds a reply back), once on a quiet bot
and once while a second article fans out to the same subscribers: from just
before the update is posted to the emulator's record of the reply.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import Options, say
from bench.latency import EmulatorProcess, add_users, bot_process, cpu_seconds, emulator_process
from bench.report import Row, Target
from bench.search import percentile
from bot.config import Settings
from bot.emulator import EmulatorClient, FloodLimits
from bot.runtime import open_content
from bot.store import articles, feeds
from bot.store.db import Database

TELEGRAM_RATE = float(FloodLimits().per_bot_per_second)
RATIO_TARGET = Target(">=", 0.95)
FIRST_TARGET = Target("<=", 2.0, "s")
NONE_TARGET = Target("<=", 0)
WINDOW_TARGET = Target("<=", TELEGRAM_RATE)
REPLY_P99_TARGET = Target("<=", 100.0, "ms")
TOPIC = "migration"
FEED = "breaking.xml"
PROBE_USERS = 20  # probes come from these users in turn ...
PROBE_GAP = 0.5  # ... one every this many seconds, so each user's come 10 s apart
PROBE = "/latest"
QUIET_PROBES = 10
GRACE = 10.0  # s to wait for a reply or the last delivery past the expected end


def story(number: int) -> str:
    """The feed after `number` breaking stories, newest first."""
    items = "".join(
        f"<item><title>Migrants cross the border at dawn, report {n}</title>"
        f"<guid>breaking-{n}</guid><link>https://news.example/breaking-{n}</link>"
        f"<description>Hundreds of migrants crossed the border at dawn.</description></item>"
        for n in range(number, 0, -1)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Breaking news</title>'
        f"<link>https://news.example/</link>{items}</channel></rss>"
    )


@dataclass
class FanOut:
    subscribers: int
    ingest_at: float  # time.time() just before /ingest was posted
    deliveries: list[float] = field(default_factory=list)  # accepted, to subscribers
    reached: Counter[int] = field(default_factory=Counter)
    flood_429: int = 0
    most_in_a_second: int = 0
    admin_reply: float = float("nan")  # s from the ingest to the admin's answer
    bot_cpu: float = 0.0  # s of the bot process's CPU during the fan-out
    replies: list[float] = field(default_factory=list)  # probe latencies during it, s
    probes_missing: int = 0

    @property
    def rate(self) -> float:
        span = self.deliveries[-1] - self.deliveries[0] if len(self.deliveries) > 1 else 0.0
        return (len(self.deliveries) - 1) / span if span > 0 else 0.0

    @property
    def first(self) -> float:
        return self.deliveries[0] - self.ingest_at if self.deliveries else float("nan")

    @property
    def twice(self) -> int:
        return sum(count - 1 for count in self.reached.values() if count > 1)

    def missed(self, subscribers: Sequence[int]) -> int:
        return sum(1 for chat in subscribers if chat not in self.reached)


def most_in_one_second(times: Sequence[float]) -> int:
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def prepare(
    settings: Settings, subscribers: Sequence[int], feed_url: str, admin: int
) -> None:
    """The bundled sample archive, the feed (known, not due: only /ingest polls it) and
    the subscribers' chats, each with one instant target on TOPIC whose cursor is at
    the newest article, written straight into the tables (the store's one-at-a-time
    functions would take a minute for 10,000)."""
    content = await open_content(settings)
    db: Database = content.db
    try:
        now = int(time.time())
        await feeds.add_feed(db, feed_url, now=now + 86_400, added_by=admin)
        cursor = await articles.newest_id(db)
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO chats (chat_id, type, created_at, updated_at)"
                " VALUES (?, 'private', ?, ?)",
                [(chat, now, now) for chat in subscribers],
            )
            await tx.executemany(
                "INSERT INTO targets (chat_id, ui_language, timezone, digest_mode,"
                " cursor_article_id, created_at) VALUES (?, 'en', 'UTC', 'instant', ?, ?)",
                [(chat, cursor, now) for chat in subscribers],
            )
            await tx.execute(
                "INSERT INTO subscriptions (target_id, kind, value, created_at)"
                " SELECT id, 'topic', ?, ? FROM targets WHERE digest_mode = 'instant'",
                (TOPIC, now),
            )
    finally:
        await content.db.close()


class Probes:
    """/latest from users in turn, PROBE_GAP apart; latencies matched on the log."""

    def __init__(self, client: EmulatorClient, users: Sequence[int]) -> None:
        self.client = client
        self.users = list(users)
        self.posted: list[tuple[int, float]] = []

    async def run(self, count: int) -> None:
        start = time.perf_counter()
        for number in range(count):
            delay = start + number * PROBE_GAP - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            user = self.users[(len(self.posted)) % len(self.users)]
            self.posted.append((user, time.time()))
            await self.client.send_user_message(user, user, PROBE)

    def latencies(self, records: Sequence[dict[str, Any]], since: float) -> tuple[list[float], int]:
        """(latencies of the probes posted after `since`, how many got no reply)."""
        answers: dict[int, list[float]] = {}
        for record in records:
            if record["status"] == 200:
                answers.setdefault(int(record["params"]["chat_id"]), []).append(record["at"])
        found, missing = [], 0
        for user, posted in self.posted:
            replies = [at for at in answers.get(user, []) if at >= posted]
            if posted < since:
                continue
            if replies:
                found.append(replies[0] - posted)
                answers[user].remove(replies[0])
            else:
                missing += 1
        return found, missing


async def fan_out(
    emulator: EmulatorProcess,
    bot_pid: int,
    number: int,
    subscribers: Sequence[int],
    admin: int,
    probes: Probes | None = None,
) -> FanOut:
    """Article `number` appears in the feed; the admin sends /ingest; wait until every
    subscriber has it (or nothing more comes), then read the log."""
    client = emulator.client
    since = (await client.stats())["requests"]
    floods_before = (await client.stats())["flood_429"]
    await client.publish_feed(FEED, story(number))
    cpu_before = cpu_seconds(bot_pid)
    ingest_at = time.time()
    await client.send_user_message(admin, admin, "/ingest")
    probing = None
    wanted = len(subscribers) + 1  # and the admin's answer
    if probes is not None:
        count = max(5, int(len(subscribers) / TELEGRAM_RATE / PROBE_GAP) - 4)
        probing = asyncio.create_task(probes.run(count))
        wanted += count
    expected_end = time.monotonic() + len(subscribers) / TELEGRAM_RATE * 1.2 + GRACE
    delivered = (await client.stats())["delivered"]
    target = delivered + wanted
    last_change, seen = time.monotonic(), delivered
    while True:
        stats = await client.stats()
        if stats["delivered"] >= target and (probing is None or probing.done()):
            break
        if stats["delivered"] != seen:
            last_change, seen = time.monotonic(), stats["delivered"]
        if time.monotonic() > expected_end and time.monotonic() - last_change > GRACE:
            break
        await asyncio.sleep(0.5)
    if probing is not None:
        await probing
        await asyncio.sleep(1.0)  # the last probe's reply
    result = FanOut(len(subscribers), ingest_at, bot_cpu=cpu_seconds(bot_pid) - cpu_before)
    records = await client.requests(since=since, method="sendMessage")
    members = set(subscribers)
    for record in records:
        chat = int(record["params"]["chat_id"])
        if record["status"] == 200 and chat in members:
            result.deliveries.append(record["at"])
            result.reached[chat] += 1
        elif record["status"] == 200 and chat == admin and math.isnan(result.admin_reply):
            result.admin_reply = record["at"] - ingest_at
    result.deliveries.sort()
    result.flood_429 = (await client.stats())["flood_429"] - floods_before
    result.most_in_a_second = most_in_one_second([record["at"] for record in records])
    if probes is not None:
        result.replies, result.probes_missing = probes.latencies(records, ingest_at)
    return result


async def warm_up(client: EmulatorClient, admin: int) -> None:
    """One /ingest that finds nothing new, as a bot that has been running would have
    polled before: the first poll after start imports the feed parser (imported on
    first use, to keep the idle bot small), which is not what the figure is about."""
    seen = await client.messages(admin, from_bot=True)
    after = max((int(message["seq"]) for message in seen), default=0)
    await client.send_user_message(admin, admin, "/ingest")
    await client.wait_for_bot_message(admin, after_seq=after, timeout=30)


async def quiet_replies(probes: Probes, client: EmulatorClient) -> tuple[list[float], int]:
    since = (await client.stats())["requests"]
    started = time.time()
    await probes.run(QUIET_PROBES)
    await asyncio.sleep(1.0)
    records = await client.requests(since=since, method="sendMessage")
    return probes.latencies(records, started)


@dataclass(frozen=True)
class Result:
    runs: list[FanOut]
    quiet: list[float]
    quiet_missing: int
    probed: FanOut


async def run(options: Options) -> list[Row]:
    sizes = sorted(options.fanout_subscribers)
    probed_size = sizes[0]
    most = max(sizes)
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        folder = Path(tmp)
        log_limit = str(2 * sum(sizes) + probed_size + 10_000)
        async with emulator_process(folder, "--limits", "--log-limit", log_limit) as emu:
            client = emu.client
            admin = int((await client.add_user("Admin", language_code="en"))["id"])
            probe_users = await add_users(client, PROBE_USERS)
            say(options, f"{most:,} subscribers, {PROBE_USERS} other readers")
            everyone = await add_users(client, most)
            feed_url = await client.publish_feed(FEED, story(0))
            settings = {
                "ADMIN_IDS": str(admin),
                "FEEDS_PATH": str(folder / "no-feeds.toml"),
                "FEED_ALLOWED_HOSTS": "127.0.0.1",
            }
            runs: list[FanOut] = []
            quiet: list[float] = []
            quiet_missing = 0
            probed: FanOut | None = None
            for size in sizes:
                path = folder / f"bot-{size}.sqlite3"
                bot_settings = Settings(  # type: ignore[call-arg]
                    _env_file=None,
                    database_path=path,
                    feeds_path=folder / "no-feeds.toml",
                    admin_ids=[admin],
                )
                subscribers = everyone[:size]
                await prepare(bot_settings, subscribers, feed_url, admin)
                await client.publish_feed(FEED, story(0))
                async with bot_process(emu, path, folder, settings=settings) as bot:
                    await warm_up(client, admin)
                    probes = Probes(client, probe_users)
                    if size == sizes[0]:
                        quiet, quiet_missing = await quiet_replies(probes, client)
                        say(options, f"  replies, quiet bot: p50 {_ms(quiet, 0.5):.0f} ms")
                    say(options, f"one new article to {size:,} instant subscribers")
                    done = await fan_out(emu, bot.pid, 1, subscribers, admin)
                    runs.append(done)
                    say(
                        options,
                        f"  {done.rate:.2f} msg/s, first after {done.first:.2f} s,"
                        f" {done.flood_429} × 429, {done.twice} twice,"
                        f" {done.missed(subscribers)} missed, at most"
                        f" {done.most_in_a_second} in a second",
                    )
                    if size == sizes[0]:
                        say(options, f"another to {probed_size:,}, with /latest meanwhile")
                        probed = await fan_out(
                            emu, bot.pid, 2, subscribers[:probed_size], admin, probes
                        )
                        say(
                            options,
                            f"  replies during it: p50 {_ms(probed.replies, 0.5):.0f} ms,"
                            f" p99 {_ms(probed.replies, 0.99):.0f} ms",
                        )
            errors = await client.protocol_errors()
    if errors:
        raise RuntimeError(f"the bot made invalid requests: {errors[:3]}")
    assert probed is not None
    return _rows(Result(runs, quiet, quiet_missing, probed), everyone)


def _ms(latencies: Sequence[float], fraction: float) -> float:
    return percentile(list(latencies), fraction) * 1000 if latencies else float("nan")


def _rows(result: Result, everyone: Sequence[int]) -> list[Row]:
    rows: list[Row] = []
    for run in result.runs:
        subscribers = everyone[: run.subscribers]
        name = f"fan-out, 1 article to {run.subscribers:,} instant subscribers"
        refused = run.flood_429 + run.twice + run.missed(subscribers)
        rate = Row(
            f"{name}: rate, Telegram's limits enforced",
            run.rate,
            "msg/s",
            reference="Telegram's limit",
            reference_value=TELEGRAM_RATE,
            ratio_target=RATIO_TARGET,
            detail=_detail(run, subscribers) if run is result.runs[0] else "",
        )
        first = Row(f"{name}: /ingest to the first delivery", run.first, "s", target=FIRST_TARGET)
        bad = Row(f"{name}: 429s, duplicates and misses", refused, "", target=NONE_TARGET)
        window = Row(
            f"{name}: most messages in any one second (emulator's log)",
            run.most_in_a_second,
            "",
            reference="Telegram's limit",
            reference_value=TELEGRAM_RATE,
            target=WINDOW_TARGET,
        )
        if rate.met is False:
            rate = replace(rate, note=_rate_note(run))
        rows += [rate, first, bad, window]
    probed = result.probed
    during = f"reply latency during a fan-out to {probed.subscribers:,} ({PROBE} from other users)"
    rows.append(
        Row(
            f"{during}, p50",
            _ms(probed.replies, 0.5),
            "ms",
            reference="the same on a quiet bot",
            reference_value=_ms(result.quiet, 0.5),
            detail=_reply_detail(result),
        )
    )
    rows.append(
        Row(
            f"{during}, p99",
            _ms(probed.replies, 0.99),
            "ms",
            reference="the same on a quiet bot",
            reference_value=_ms(result.quiet, 0.99),
            target=REPLY_P99_TARGET,
        )
    )
    return rows


def _detail(run: FanOut, subscribers: Sequence[int]) -> str:
    return "\n".join(
        [
            f"{run.subscribers:,} subscribers: {len(run.deliveries):,} deliveries in"
            f" {run.deliveries[-1] - run.deliveries[0]:.1f} s, the first"
            f" {run.first:.2f} s after /ingest was posted; the admin's answer after"
            f" {run.admin_reply:.2f} s (it comes once every subscriber's message is queued);"
            f" {run.flood_429} × 429, {run.twice} twice, {run.missed(subscribers)} missed;"
            f" the bot's CPU {run.bot_cpu:.1f} s over the fan-out.",
            "The bot's budget is SEND_RATE_PER_SECOND's default: grants 1/30 s apart, and"
            " none sooner than a second after the answer to the one 30 grants before, so no"
            " second at Telegram holds more than 30 whatever the latency; the rate below 30"
            " is that latency (each window of 30 lasts a second plus a round trip).",
        ]
    )


def _reply_detail(result: Result) -> str:
    probed = result.probed
    return (
        f"{len(result.quiet)} replies on a quiet bot ({result.quiet_missing} missing),"
        f" {len(probed.replies)} during the fan-out ({probed.probes_missing} missing), one"
        f" {PROBE} every {PROBE_GAP:g} s from {PROBE_USERS} users in turn; the fan-out meanwhile"
        f" at {probed.rate:.1f} msg/s (replies take their share of the budget). Replies go"
        " before bulk messages in the limiter's queue."
    )


def _rate_note(run: FanOut) -> str:
    return (
        f"{run.rate:.2f} msg/s with the bot's CPU at {run.bot_cpu:.1f} s over the run: the"
        " limiter waits a second after the answer to the message 30 grants before, so each"
        " window of 30 lasts a second plus a round trip and the event loop's lateness; a"
        " slower loop (a busy machine) lengthens it."
    )
