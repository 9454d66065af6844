"""Two `python -m bot run` on one PostgreSQL store, on webhooks behind a round-robin
proxy, are one bot as Telegram sees it, through a kill -9 of the leader.

The operator's setup, end to end: the emulator (Telegram's limits enforced) pushes
every update to a small reverse proxy on 127.0.0.1 that hands each to the replicas in
turn, as nginx's upstream would; each replica serves its own port, and the one that
leads the store sends the outbox and runs the jobs. One test with one set of
processes, since starting them is most of the cost on two cores:

1. readers' /start and /search reach both replicas, and each is answered once;
2. an article stored by `python -m bot ingest` reaches each instant subscriber once,
   through the leader's instant-digest job;
3. an admin's /broadcast to 2,000 chats, confirmed with its button, keeps Telegram's
   limits bot-wide while readers keep talking to both replicas (in bursts: a
   follower's replies sent past the leader's budget would pass 30 a second at once,
   and did before followers handed their sends to the leader): the emulator answers
   no 429 (its gate refuses any message over the bot's 30 a second or over a chat's
   allowance, so none means neither was passed), and no second of its log holds
   more than 30 messages;
4. the leader is killed (kill -9) in the middle of that broadcast: the other leads
   within 15 s and finishes it, each chat getting it once, or twice at most for the
   copies in flight at the kill.

Then a replica that joins and stops gracefully leaves the webhook set: the one still
running serves it. Every wait polls with a generous bound; the only time asserted is
the product's 15 s failover.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import aiohttp
import pytest
from aiohttp import web

from bot.config import Settings
from bot.emulator import Emulator, FloodLimits, RequestRecord
from bot.emulator.dispatch import METHODS
from bot.emulator.models import UserRecord
from bot.runtime import open_content
from bot.store import articles, chats, outbox, subscriptions
from bot.store.db import Database
from tests.harness import free_port

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
SECRET = "replicas-secret-0123456789-abcdefghijk"  # Telegram's charset, 32 characters or more
HOOK = "/telegram-hook"
TAKEOVER = 15.0  # seconds: the product's bound from a leader's death to the next leader's work
START = 60.0  # generous bounds for waits on a busy two-core machine, never measured
PER_SECOND = FloodLimits().per_bot_per_second
CROWD = 2_000
TALKERS = 20
SUBSCRIBERS = 10
KILL_AFTER = CROWD // 4  # copies sent before the leader is killed: well into the broadcast
# During the broadcast readers talk in bursts, as people do: 8 at once every 2 s, half
# of them on each replica by the proxy's turns.
TALK_BURST = 8
TALK_EVERY = 2.0
TITLE = "Migrants cross the border at dawn"
FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
    f"<item><title>{TITLE}</title><guid>breaking-1</guid>"
    "<link>https://news.example/breaking-1</link>"
    "<description>Hundreds of migrants crossed the border at dawn.</description>"
    "</item></channel></rss>"
)
ANNOUNCEMENT = "The newsroom moves to its new building on Monday"
LEADS = "this bot leads"
SERVES = "webhook mode on"


# -- the replicas ----------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    at: float
    """When the replica logged it, by its own clock (the JSON log's time)."""
    message: str


def _log_line(text: str) -> LogLine:
    try:
        record = json.loads(text)
        at = datetime.fromisoformat(record["time"]).timestamp()
        message = str(record["message"])
        if "exception" in record:
            message += "\n" + str(record["exception"])
        return LogLine(at, message)
    except (ValueError, KeyError, TypeError):  # not a log record: output of another kind
        return LogLine(time.time(), text)


class Replica:
    """One `python -m bot run` on a webhook port of its own, its JSON log read line by
    line as it comes."""

    def __init__(self, name: str, port: int, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.process = process
        self.lines: list[LogLine] = []
        self._seen = asyncio.Condition()
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = _log_line(raw.decode(errors="replace").rstrip())
            async with self._seen:
                self.lines.append(line)
                self._seen.notify_all()

    def find(self, text: str) -> LogLine | None:
        return next((line for line in self.lines if text in line.message), None)

    async def logged(self, text: str, timeout: float = START) -> LogLine:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout), self._seen:
                found = await self._seen.wait_for(lambda: self.find(text))
        except TimeoutError:
            raise AssertionError(
                f"replica {self.name} did not log {text!r} within {timeout} s:\n{self.output}"
            ) from None
        assert found is not None
        return found

    @property
    def output(self) -> str:
        return "\n".join(line.message for line in self.lines)

    async def end(self, signum: int = signal.SIGTERM) -> str:
        if self.process.returncode is None:
            self.process.send_signal(signum)
        await asyncio.wait_for(self.process.wait(), 30)
        await self._reading
        return self.output


def bot_env(url: str, emulator: Emulator, tmp_path: Path, admin: int) -> dict[str, str]:
    """The environment an operator gives every replica (and the command line)."""
    feeds = tmp_path / "feeds.toml"  # no feeds of the bundled list: nothing polled outside
    feeds.write_text("", "utf-8")
    prefixes = ("BOT_", "WEBHOOK_", "ADMIN_", "DATABASE_", "LOG_", "FEED", "METRICS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=url,
        BOT_TOKEN=emulator.token,
        TELEGRAM_BASE_URL=emulator.base_url,
        ADMIN_IDS=str(admin),
        FEEDS_PATH=str(feeds),
        LOG_LEVEL="INFO",
        LOG_FORMAT="json",
    )
    return env


@asynccontextmanager
async def replicas(
    tmp_path: Path, env: dict[str, str], proxy_url: str
) -> AsyncIterator[Callable[[str], Awaitable[Replica]]]:
    """Starts replicas on the proxy's webhook URL, each on a free port of its own;
    any still running at the end is killed."""
    started: list[Replica] = []

    async def start(name: str) -> Replica:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env={
                **env,
                "WEBHOOK_URL": proxy_url,
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_LISTEN": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
            },
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        replica = Replica(name, port, process)
        started.append(replica)
        return replica

    try:
        yield start
    finally:
        for replica in started:
            await replica.end(signal.SIGKILL)


# -- the proxy in front of them -----------------------------------------------------------

# Headers of one connection, not of the request (RFC 9110 7.6.1), and the two the
# forwarded request gets anew: its host and its length.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "host", "content-length"}
)


class RoundRobin:
    """The reverse proxy an operator puts in front of the replicas, as nginx's upstream
    with its default round robin: each POST goes to the next replica in turn with its
    headers and body; a replica that refuses the connection (down) is passed over for
    the next, as `proxy_next_upstream error` does. A request that broke after it was
    sent is not sent twice: the answer is 502, and Telegram (the emulator) retries."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self.served: list[tuple[float, str]] = []
        """(when, replica URL) of each update a replica accepted."""
        self.url = ""
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post(HOOK, self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True),
            timeout=aiohttp.ClientTimeout(total=10),
        )
        self.url = f"http://127.0.0.1:{port}{HOOK}"
        return self.url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def served_by(self, since: float = 0.0) -> Counter[str]:
        return Counter(backend for at, backend in self.served if at >= since)

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        for _ in range(len(self.backends)):
            backend = self.backends[next(self._turn) % len(self.backends)]
            try:
                async with self._session.post(
                    backend + request.path_qs, data=body, headers=headers
                ) as answer:
                    payload = await answer.read()
            except aiohttp.ClientConnectorError:
                continue  # nothing reached it: the next one gets the update
            except (aiohttp.ClientError, TimeoutError):
                return web.Response(status=502)
            if 200 <= answer.status < 300:
                self.served.append((time.time(), backend))
            return web.Response(status=answer.status, body=payload)
        return web.Response(status=502)


# -- the store, prepared as earlier readers left it -------------------------------------------


async def instant_subscribers(db: Database, users: Sequence[UserRecord]) -> None:
    """Readers following migration instantly, as /subscribe and /settings leave them."""
    now = int(time.time())
    for user in users:
        await chats.save_chat(db, chat_id=user.id, type="private", title=None, now=now)
        target = await chats.ensure_target(db, user.id, ui_language="en", timezone="UTC", now=now)
        await subscriptions.add(db, target.id, "topic", "migration", now)
        await chats.update_target(db, target.id, digest_mode="instant", next_digest_at=None)


async def known_chats(db: Database, users: Sequence[UserRecord]) -> None:
    """Chats that once started the bot, each with its target (the broadcast's audience),
    written in one transaction: 2,000 one at a time would take seconds."""
    now = int(time.time())
    cursor = await articles.newest_id(db)
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO chats (chat_id, type, created_at, updated_at) VALUES (?, 'private', ?, ?)",
            [(user.id, now, now) for user in users],
        )
        await tx.executemany(
            "INSERT INTO targets (chat_id, ui_language, timezone, cursor_article_id, created_at)"
            " VALUES (?, 'en', 'UTC', ?, ?)",
            [(user.id, cursor, now) for user in users],
        )


# -- reading the emulator -----------------------------------------------------------------


async def until(
    check: Callable[[], T | None],
    what: str,
    timeout: float = START,  # noqa: ASYNC109
) -> T:
    """Poll `check` until it gives something truthy; fail saying `what` did not happen."""

    async def checked() -> T | None:
        return check()

    return await until_async(checked, what, timeout)


async def until_async(
    check: Callable[[], Awaitable[T | None]],
    what: str,
    timeout: float = START,  # noqa: ASYNC109
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.2)


def sends(emulator: Emulator) -> list[RequestRecord]:
    """Every request of a method that sends a message (what the flood limits count)."""
    return [r for r in emulator.requests if METHODS[r.method.lower()].sends]


def copies(emulator: Emulator) -> list[RequestRecord]:
    """The broadcast's copies Telegram accepted (the admin's preview among them)."""
    return [
        r
        for r in emulator.requests
        if r.ok and r.method == "sendMessage" and r.params.get("text") == ANNOUNCEMENT
    ]


def most_in_one_second(records: Sequence[RequestRecord]) -> int:
    """The most requests whose arrival (the log's `at`) falls in any one second."""
    times = sorted(record.at for record in records)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


class Readers:
    """Readers talking to the bot: what each asked, and whether each was answered once
    (the broadcast's copies are not answers; these readers follow nothing)."""

    def __init__(self, emulator: Emulator, users: Sequence[UserRecord]) -> None:
        self.emulator = emulator
        self.users = list(users)
        self.asked: Counter[int] = Counter()
        self.talking = asyncio.Event()

    def say(self, user: UserRecord, text: str) -> None:
        self.emulator.send_user_message(user.id, user.id, text)
        self.asked[user.id] += 1

    def answers(self, user_id: int) -> int:
        messages = self.emulator.bot_messages(user_id)
        return sum(1 for message in messages if message.text != ANNOUNCEMENT)

    def all_answered(self) -> bool:
        return all(self.answers(user.id) >= self.asked[user.id] for user in self.users)

    async def answered_once(self) -> None:
        try:
            await until(self.all_answered, "every reader's message answered")
        except AssertionError as exc:
            short = {
                user.id: [m.text for m in self.emulator.bot_messages(user.id)]
                for user in self.users
                if self.answers(user.id) < self.asked[user.id]
            }
            raise AssertionError(f"{exc}; unanswered: {short}") from None
        twice = {
            u.id: self.answers(u.id) for u in self.users if self.answers(u.id) > self.asked[u.id]
        }
        assert not twice, f"answered more than once: {twice}"

    async def keep_talking(self) -> None:
        """/help from TALK_BURST readers at once (each reader in turn), every TALK_EVERY
        seconds, while `talking` is set."""
        turns = itertools.cycle(self.users)
        while True:
            await self.talking.wait()
            for user in itertools.islice(turns, TALK_BURST):
                self.say(user, "/help")
            await asyncio.sleep(TALK_EVERY)


# -- the test ---------------------------------------------------------------------------------


@pytest.mark.timeout(300)
async def test_two_replicas_on_a_webhook_are_one_bot_through_a_leader_s_death(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    began = time.monotonic()
    for name in ("BOT_TOKEN", "ADMIN_IDS", "WEBHOOK_URL", "WEBHOOK_SECRET", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)  # the test's own store access, not the shell's
    async with Emulator(enforce_limits=True) as emulator, AsyncExitStack() as stack:
        admin = emulator.add_user("Ada")
        talkers = [emulator.add_user(f"Talker {n}") for n in range(TALKERS)]
        subscribers = [emulator.add_user(f"Subscriber {n}") for n in range(SUBSCRIBERS)]
        crowd = [emulator.add_user(f"Reader {n}") for n in range(CROWD)]

        # The store as earlier readers left it: the sample archive, instant subscribers
        # of migration, 2,000 chats that once started the bot.
        settings = Settings(_env_file=None, database_url=postgres_url)  # type: ignore[call-arg]
        content = await open_content(settings)
        db = content.db
        stack.push_async_callback(db.close)
        await instant_subscribers(db, subscribers)
        await known_chats(db, crowd)
        env = bot_env(postgres_url, emulator, tmp_path, admin.id)

        # A new article stored from the command line, beside the bots.
        feed = tmp_path / "breaking.xml"
        feed.write_text(FEED, "utf-8")
        ingest = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "ingest",
            str(feed),
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        said, _ = await asyncio.wait_for(ingest.communicate(), START)
        assert ingest.returncode == 0, said.decode(errors="replace")
        assert b"1 new" in said, said.decode(errors="replace")

        proxy = RoundRobin()
        proxy_url = await proxy.start()
        stack.push_async_callback(proxy.stop)
        start = await stack.enter_async_context(replicas(tmp_path, env, proxy_url))
        first, second = await start("A"), await start("B")
        proxy.backends[:] = [first.url, second.url]
        for replica in (first, second):
            await replica.logged(SERVES)
        # On start each registers the one webhook, the proxy's.
        hooks = [r.param("url") for r in emulator.calls("setWebhook")]
        assert hooks == [proxy_url, proxy_url]
        assert emulator.webhook is not None
        assert emulator.webhook.url == proxy_url
        [leader] = [replica for replica in (first, second) if replica.find(LEADS)]
        [survivor] = [replica for replica in (first, second) if replica is not leader]

        # 1. Updates reaching either replica are answered, once.
        readers = Readers(emulator, talkers)
        for user in talkers:
            readers.say(user, "/start")
        await readers.answered_once()
        for user in talkers:
            readers.say(user, "/search migrants")
        await readers.answered_once()
        assert set(proxy.served_by()) == {first.url, second.url}, proxy.served_by()

        # 2. The leader's instant job sends the new article to each subscriber, once.
        def digested(user: UserRecord) -> list[str]:
            return [m.text or "" for m in emulator.bot_messages(user.id) if TITLE in (m.text or "")]

        await until(
            lambda: all(digested(user) for user in subscribers), "the digest to every subscriber"
        )
        assert all(len(digested(user)) == 1 for user in subscribers)

        # 3. A broadcast to everyone, confirmed with its button, while readers talk.
        emulator.send_user_message(admin.id, admin.id, f"/broadcast {ANNOUNCEMENT}")
        prompt = await emulator.wait_for_bot_message(
            admin.id, lambda m: bool(m.callback_data), timeout=START
        )
        query = emulator.press_button(admin.id, prompt.message_id, index=0)  # Send
        await emulator.wait_for_callback_answer(query, timeout=START)
        [broadcast_id] = [row[0] for row in await db.fetchall("SELECT id FROM broadcasts")]
        rows = await db.fetchall(
            "SELECT chat_id FROM outbox WHERE broadcast_id = ?", (broadcast_id,)
        )
        audience = {row[0] for row in rows}
        assert len(audience) == len(rows)
        assert {u.id for u in crowd} <= audience
        assert len(audience) >= CROWD + TALKERS + SUBSCRIBERS

        talking_since = time.time()
        readers.talking.set()
        talking = asyncio.create_task(readers.keep_talking())
        stack.callback(talking.cancel)

        # 4. Well into it, the leader dies; readers pause a moment so that none of their
        # updates is lost in flight with it (a webhook's update is acknowledged on arrival).
        await until(lambda: len(copies(emulator)) >= KILL_AFTER, "the first copies", 120)
        readers.talking.clear()
        await readers.answered_once()
        assert set(proxy.served_by(talking_since)) == {first.url, second.url}
        sent_before = len(copies(emulator))
        assert sent_before < len(audience) * 3 // 4, "the kill comes well before the end"
        killed_at = time.time()
        await leader.end(signal.SIGKILL)
        readers.talking.set()

        led = await survivor.logged(LEADS, timeout=TAKEOVER + START)
        resumed = await until(
            lambda: next((r for r in copies(emulator) if r.at >= led.at), None),
            "the new leader's first copy",
        )
        # The broadcast finishes: every chat in the audience has its copy, nothing unsent.
        remaining = len(audience) - sent_before
        await until(
            lambda: {int(r.params["chat_id"]) for r in copies(emulator)} >= audience,
            "a copy to every chat",
            remaining / PER_SECOND * 2 + START,
        )

        async def finished() -> bool:
            return (await outbox.broadcast_progress(db, broadcast_id)).done

        await until_async(finished, "the broadcast's rows all sent")
        readers.talking.clear()
        talking.cancel()
        await readers.answered_once()

        # A replica that joins and then stops (as on a redeploy) leaves the webhook set
        # for the one still serving it.
        joiner = await start("C")
        proxy.backends[proxy.backends.index(leader.url)] = joiner.url
        await joiner.logged(SERVES)
        assert not joiner.find(LEADS)
        joined_output = await joiner.end(signal.SIGTERM)
        assert joiner.process.returncode == 0, joined_output
        assert emulator.calls("deleteWebhook") == []
        assert [r.param("url") for r in emulator.calls("setWebhook")] == [proxy_url] * 3
        assert emulator.webhook is not None
        assert emulator.webhook.url == proxy_url
        readers.say(talkers[0], "/help")
        await readers.answered_once()
        survivor_output = await survivor.end(signal.SIGTERM)

        wall = time.monotonic() - began
        takeover = led.at - killed_at
        first_copy = resumed.at - killed_at
        all_sends = sends(emulator)
        refused = [r for r in all_sends if r.status == 429]
        per_chat = Counter(int(r.params["chat_id"]) for r in copies(emulator))
        per_chat[admin.id] -= 1  # the admin's preview
        print(
            f"\ntwo replicas: {wall:.1f} s in all; leader {leader.name} killed after"
            f" {sent_before} copies; {survivor.name} led {takeover:.2f} s later and sent its"
            f" first copy {first_copy:.2f} s after the kill; {len(all_sends)} messages,"
            f" at most {most_in_one_second(all_sends)} in a second;"
            f" {sum(n - 1 for n in per_chat.values())} copies sent twice;"
            f" copies alone: at most {most_in_one_second(copies(emulator))} in a second;"
            f" served: {dict(proxy.served_by())}"
        )
        assert takeover <= TAKEOVER, f"the survivor led {takeover:.1f} s after the kill"
        assert first_copy <= TAKEOVER, f"its first copy came {first_copy:.1f} s after the kill"
        assert emulator.stats().flood_429 == 0, Counter((r.method, r.detail) for r in refused)
        assert most_in_one_second(all_sends) <= PER_SECOND
        assert set(per_chat) == audience
        assert all(1 <= n <= 2 for n in per_chat.values()), {
            chat: n for chat, n in per_chat.items() if not 1 <= n <= 2
        }
        for user in crowd:  # the broadcast, nothing else
            assert {m.text for m in emulator.bot_messages(user.id)} == {ANNOUNCEMENT}
        assert all(len(digested(user)) == 1 for user in subscribers), "no digest twice"
        assert emulator.take_protocol_errors() == []
        for output in (survivor_output, joined_output):
            assert "Traceback" not in output, output
