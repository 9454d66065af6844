"""The outbox: bulk messages as rows, so nothing is lost between queueing and Telegram.

Producers add rows (a digest in the same transaction that advances its
target's cursor, so a digest is never both skipped and unsent); the sender
claims them, one chat head at a time, and writes every outcome back. A row is
'sending' only while a request for it may be in flight: a restart turns those
back to 'pending', which is the one window where a message can go out twice.

On PostgreSQL several processes queue and claim at once, where SQLite's one
writer made every read-then-write safe by itself. A claim locks the rows it
picks and passes over those another claim holds (`FOR UPDATE SKIP LOCKED`), so
no row is in flight twice; transactions that queue rows take turns
(`hold_queue_order_on`), so ids become visible in the order they were given
and a chat's oldest row is its head on either engine.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Literal, get_args

import orjson

from bot.store.db import Connection, Database, Dialect, Row, Transaction

Kind = Literal["digest", "broadcast", "post", "notice"]
KINDS: Final = frozenset(get_args(Kind))

# Lower goes first: a reply to an admin's action beats scheduled digests, and a
# mass broadcast must not hold up either.
NOTICE: Final = 0
DIGEST: Final = 10
POST: Final = 10
BROADCAST: Final = 20
PAID_BROADCAST: Final = 30
"""A paid broadcast's copies. They go on a budget of their own (Telegram's paid
broadcasts, up to 1,000 a second), so they yield to nothing and nothing yields to
them; a band of their own keeps each budget's claim an index seek of its range."""
DEFAULT_PRIORITY: Final[Mapping[str, int]] = {
    "notice": NOTICE,
    "digest": DIGEST,
    "post": POST,
    "broadcast": BROADCAST,
}

METHODS: Final = frozenset({"sendMessage", "sendPhoto", "copyMessage", "forwardMessage"})
"""Bot API methods the sender knows how to make for a row."""

FALLBACK: Final = "fallback"
"""A sendPhoto payload's key for the sendMessage parameters (less the chat and
topic) that go instead when Telegram cannot use the photo's URL. The sender
takes it out of the request; the row stays one row, claimed, sent and marked
once, whichever of the two Telegram accepted."""

CLAIM_LEASE: Final = 300.0
"""Seconds after which a row still 'sending', with no request for it in flight,
goes back to the queue (its outcome could not be written)."""


@dataclass(frozen=True)
class NewMessage:
    """A message to queue. `payload` holds the Bot API parameters except the chat and
    topic, which are columns so a chat can be migrated or dropped in SQL. A payload
    of None stands for the broadcast's own request (see `of_broadcast`)."""

    chat_id: int
    kind: Kind
    method: str
    payload: Mapping[str, Any] | None
    thread_id: int = 0
    target_id: int | None = None
    broadcast_id: int | None = None
    priority: int | None = None  # None: the kind's default
    not_before: float = 0.0
    encoded: str | None = field(default=None, compare=False)
    """`payload` as `encode_payload` gives it, when the caller has it already; with
    `shared`, only the parameters that are not in the shared part."""
    shared: SharedPart | None = field(default=None, compare=False)
    """Parameters many rows send alike, stored once for them all (`SharedPart`)."""

    @classmethod
    def text(
        cls,
        chat_id: int,
        text: str,
        *,
        kind: Kind,
        thread_id: int = 0,
        target_id: int | None = None,
        broadcast_id: int | None = None,
        priority: int | None = None,
        shared: SharedPart | None = None,
        **params: Any,
    ) -> NewMessage:
        """A sendMessage in HTML (extra Bot API parameters go in `params`).
        `shared` is `SharedPart.text(encode_text(text))`, for a caller that queues
        one text for many chats: the row then stores only `params`."""
        payload = {"text": text, "parse_mode": "HTML", **params}
        encoded = None
        if shared is not None:
            if {"text", "parse_mode"} & set(params):
                raise ValueError("a shared text's row cannot set text or parse_mode")
            encoded = encode_payload(params)
        return cls(
            chat_id,
            kind,
            "sendMessage",
            payload,
            thread_id,
            target_id,
            broadcast_id,
            priority,
            encoded=encoded,
            shared=shared,
        )

    @classmethod
    def photo(
        cls,
        chat_id: int,
        url: str,
        caption: str,
        *,
        fallback: Mapping[str, Any],
        kind: Kind,
        thread_id: int = 0,
        target_id: int | None = None,
    ) -> NewMessage:
        """A sendPhoto by URL with an HTML caption, and the sendMessage parameters
        sent instead should Telegram refuse the URL (`FALLBACK`). The text's
        buttons go under the photo too."""
        payload: dict[str, Any] = {"photo": url, "caption": caption, "parse_mode": "HTML"}
        if "reply_markup" in fallback:
            payload["reply_markup"] = fallback["reply_markup"]
        payload[FALLBACK] = fallback
        return cls(chat_id, kind, "sendPhoto", payload, thread_id, target_id)

    @classmethod
    def copy(
        cls,
        chat_id: int,
        *,
        from_chat_id: int,
        message_id: int,
        kind: Kind = "broadcast",
        thread_id: int = 0,
        target_id: int | None = None,
        broadcast_id: int | None = None,
        priority: int | None = None,
    ) -> NewMessage:
        """A copyMessage of an existing message (an admin's broadcast, a channel post)."""
        payload = {"from_chat_id": from_chat_id, "message_id": message_id}
        return cls(
            chat_id, kind, "copyMessage", payload, thread_id, target_id, broadcast_id, priority
        )

    @classmethod
    def of_broadcast(
        cls,
        chat_id: int,
        broadcast_id: int,
        method: str,
        *,
        thread_id: int = 0,
        target_id: int | None = None,
        paid: bool = False,
    ) -> NewMessage:
        """One recipient's copy of a broadcast. The row refers to the broadcast's request
        instead of holding it: a 4 KB announcement to 100,000 chats is stored once, not
        100,000 times. The sender reads it from the broadcast when it claims the row.
        A `paid` broadcast's copies go at `PAID_BROADCAST`."""
        return cls(
            chat_id,
            "broadcast",
            method,
            None,
            thread_id=thread_id,
            target_id=target_id,
            broadcast_id=broadcast_id,
            priority=PAID_BROADCAST if paid else None,
        )


SHARED_PAYLOAD: Final = ""
"""The `payload` of a row whose request is its broadcast's."""


_HASH_PIECE: Final = 2_000


class SharedPart:
    """Bot API parameters that many rows send alike, stored once for them all in
    `outbox_payloads` (a digest page's text goes to thousands of chats, each
    with its own "show more" button). A row keeps only its own parameters, none
    of them a key of the shared part: its request is the shared object followed
    by the row's (the `outbox_requests` view).

    A stored part is found by a hash of its text, so a part queued in many
    transactions, or made again by a later run, is stored once."""

    __slots__ = ("__weakref__", "_digest", "encoded")

    def __init__(self, encoded: str) -> None:
        if not (encoded.startswith("{") and encoded.endswith("}")) or encoded == "{}":
            raise ValueError("a shared part is a non-empty JSON object")
        self.encoded = encoded
        self._digest: str | None = None

    @classmethod
    def text(cls, encoded_text: str) -> SharedPart:
        """A sendMessage's HTML text, `encode_text(text)`."""
        return cls(f'{{"text":{encoded_text},"parse_mode":"HTML"}}')

    @classmethod
    def request(cls, payload: Mapping[str, Any]) -> SharedPart:
        """A whole request (less chat_id and message_thread_id): rows that send
        it store nothing of their own (`enqueue_shared_on`)."""
        return cls(encode_payload(payload))

    @property
    def digest(self) -> str:
        if self._digest is None:
            raw = self.encoded.encode()
            # hashlib lets go of the interpreter lock for inputs of 2 KiB or more;
            # a digest run hashes thousands of pages while the database threads
            # wait for that lock, and each let-go costs a wait to get it back. In
            # smaller pieces the hash keeps it.
            hashed = hashlib.blake2b(digest_size=16)
            for start in range(0, len(raw), _HASH_PIECE):
                hashed.update(raw[start : start + _HASH_PIECE])
            self._digest = hashed.hexdigest()
        return self._digest


@dataclass(frozen=True)
class OutboxRow:
    """A claimed row: everything needed to make its request."""

    id: int
    chat_id: int
    thread_id: int
    target_id: int | None
    kind: Kind
    priority: int
    method: str
    payload: dict[str, Any]
    broadcast_id: int | None
    attempts: int

    @property
    def paid(self) -> bool:
        """A paid broadcast's copy: sent with `allow_paid_broadcast` while the sender
        has a paid budget."""
        return self.priority == PAID_BROADCAST


@dataclass(frozen=True)
class BroadcastProgress:
    sent: int = 0
    dropped: int = 0  # the chat blocked the bot, left, or the topic is gone
    failed: int = 0
    cancelled: int = 0
    remaining: int = 0  # pending or sending

    @property
    def total(self) -> int:
        return self.sent + self.dropped + self.failed + self.cancelled + self.remaining

    @property
    def done(self) -> bool:
        return self.remaining == 0


@dataclass(frozen=True)
class DeliveryCounts:
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    cancelled: int = 0


# One encoder for every row: json.dumps with options builds a new one per call.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_payload(payload: Mapping[str, Any]) -> str:
    """A payload as a row stores it: compact JSON, text as is (not \\u-escaped)."""
    return _ENCODER.encode(payload)


def encode_text(text: str) -> str:
    """A string as `encode_payload` writes it inside a payload."""
    return _ENCODER.encode(text)


def _params(message: NewMessage, now: float, payload_id: int | None = None) -> dict[str, Any]:
    if message.kind not in KINDS:
        raise ValueError(f"unknown outbox kind {message.kind!r}")
    if message.method not in METHODS:
        raise ValueError(f"the sender cannot make {message.method!r} requests")
    if message.payload is None:
        if message.broadcast_id is None:
            raise ValueError("only a broadcast's copy may leave its payload to the broadcast")
        payload = SHARED_PAYLOAD
    else:
        misplaced = {"chat_id", "message_thread_id"} & set(message.payload)
        if misplaced:
            raise ValueError(f"give {', '.join(sorted(misplaced))} as fields, not in the payload")
        payload = encode_payload(message.payload) if message.encoded is None else message.encoded
    priority = DEFAULT_PRIORITY[message.kind] if message.priority is None else message.priority
    return {
        "chat_id": message.chat_id,
        "thread_id": message.thread_id,
        "target_id": message.target_id,
        "kind": message.kind,
        "priority": priority,
        "method": message.method,
        "payload": payload,
        "broadcast_id": message.broadcast_id,
        "payload_id": payload_id,
        "not_before": message.not_before,
        "created_at": int(now),
    }


async def enqueue_tx(
    tx: Transaction, messages: Iterable[NewMessage], *, now: float | None = None
) -> int:
    """Queue messages inside the caller's transaction. Returns how many."""
    at = time.time() if now is None else now
    messages = list(messages)
    rows = [_params(message, at) for message in messages]  # refused before any write
    return await tx.run(partial(_insert, messages=messages, rows=rows))


def enqueue_on(conn: Connection, *, messages: Sequence[NewMessage], now: float) -> int:
    """`enqueue_tx` on the connection's own thread (inside `Database.write`)."""
    return _insert(conn, messages=messages, rows=[_params(message, now) for message in messages])


QUEUE_ORDER_LOCK: Final = 0x6F75_7462_6F78  # "outbox"
"""The PostgreSQL advisory lock that transactions queueing rows take in turn."""


def _dialect_of(conn: Connection) -> Dialect:
    """The engine behind a connection `write` or `Transaction.run` gives its work:
    the functions that queue on a caller's connection serve both engines with one
    signature."""
    return "sqlite" if isinstance(conn, sqlite3.Connection) else "postgresql"


def hold_queue_order_on(conn: Connection) -> None:
    """Before queueing rows on PostgreSQL: wait for the other transactions that
    queue rows to end, and hold them off until this one does.

    An id is taken at insert and seen at commit. Two transactions queueing at
    once could commit out of id order, and a claim made between the commits
    would take a chat's later row as its head, then the earlier one beside it:
    two of a chat's messages in flight, out of order. Taken in turn, ids are
    seen in the order given, as SQLite's one writer gives them. A no-op on
    SQLite; taken again in the same transaction, it costs a round trip."""
    if _dialect_of(conn) == "postgresql":
        conn.execute("SELECT pg_advisory_xact_lock(?)", (QUEUE_ORDER_LOCK,))


_INSERT_POSTGRESQL: Final = """
    INSERT INTO outbox (chat_id, thread_id, target_id, kind, priority, method, payload,
                        broadcast_id, payload_id, not_before, created_at)
    SELECT (r->>0)::bigint, (r->>1)::bigint, (r->>2)::bigint, r->>3, (r->>4)::bigint, r->>5,
           r->>6, (r->>7)::bigint, (r->>8)::bigint, (r->>9)::double precision,
           (r->>10)::bigint
    FROM json_array_elements(CAST(? AS json)) WITH ORDINALITY AS given(r, n)
    ORDER BY n
"""
"""`_insert`'s rows on PostgreSQL: one statement for the whole list, in its order,
not a round trip per row (a broadcast queues 100,000)."""
_INSERT_COLUMNS: Final = (
    "chat_id",
    "thread_id",
    "target_id",
    "kind",
    "priority",
    "method",
    "payload",
    "broadcast_id",
    "payload_id",
    "not_before",
    "created_at",
)


def _insert(conn: Connection, *, messages: Sequence[NewMessage], rows: list[dict[str, Any]]) -> int:
    parts = _store_parts(conn, [m.shared for m in messages if m.shared is not None])
    for message, row in zip(messages, rows, strict=True):
        if message.shared is not None:
            row["payload_id"] = parts[message.shared.digest]
    if rows and _dialect_of(conn) == "postgresql":
        hold_queue_order_on(conn)
        table = [[row[column] for column in _INSERT_COLUMNS] for row in rows]
        conn.execute(_INSERT_POSTGRESQL, (orjson.dumps(table).decode(),))
    elif rows:
        conn.executemany(
            """
            INSERT INTO outbox (chat_id, thread_id, target_id, kind, priority, method, payload,
                                broadcast_id, payload_id, not_before, created_at)
            VALUES (:chat_id, :thread_id, :target_id, :kind, :priority, :method, :payload,
                    :broadcast_id, :payload_id, :not_before, :created_at)
            """,
            rows,
        )
    return len(rows)


def _store_parts(conn: Connection, parts: Iterable[SharedPart]) -> dict[str, int]:
    """The `outbox_payloads` id of each part, by digest, storing those not stored yet.
    Looked up inside the caller's transaction, so a prune cannot delete a part
    between this and the rows that refer to it.

    The ids come back as one JSON object, not a row each: a run's writer thread
    stores thousands of parts a transaction, and each row fetched is a turn of
    the interpreter lock, waited for while the event loop builds the next page."""
    wanted = {part.digest: part.encoded for part in parts}
    if not wanted:
        return {}
    if _dialect_of(conn) == "postgresql":
        return _store_parts_postgresql(conn, wanted)
    ids = _payload_ids(conn, list(wanted))
    missing = [(digest, text) for digest, text in wanted.items() if digest not in ids]
    if missing:
        conn.execute(
            "INSERT INTO outbox_payloads (digest, payload)"
            " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)",
            (orjson.dumps(missing).decode(),),  # a run's pages: megabytes, a tenth the time
        )
        ids.update(_payload_ids(conn, [digest for digest, _ in missing]))
    return ids


def _payload_ids(conn: Connection, digests: list[str]) -> dict[str, int]:
    """The stored parts among `digests`: digest to id."""
    found = conn.execute(
        "SELECT json_group_object(digest, id) FROM outbox_payloads"
        " WHERE digest IN (SELECT value FROM json_each(?))",
        (json.dumps(digests),),
    ).fetchone()[0]
    ids: dict[str, int] = json.loads(found)
    return ids


def _store_parts_postgresql(conn: Connection, wanted: dict[str, str]) -> dict[str, int]:
    """`_store_parts` where other processes queue and prune at the same time.

    The queue's turn comes first (`hold_queue_order_on`): a part this
    transaction stores is then never one another queueing transaction is
    storing too, each waiting for the other's. The parts found are locked (FOR
    KEY SHARE) until commit, and a prune passes over locked parts, so none is
    deleted under rows about to refer to it; a part a prune has just deleted
    is not found, and stored again."""
    hold_queue_order_on(conn)
    ids: dict[str, int] = {}
    missing = list(wanted)
    while missing:
        found = conn.execute(
            "SELECT coalesce(json_object_agg(digest, id), '{}') FROM ("
            " SELECT digest, id FROM outbox_payloads WHERE digest = ANY(?) FOR KEY SHARE) AS p",
            (missing,),
        ).fetchone()[0]
        ids.update(found)
        missing = [digest for digest in missing if digest not in ids]
        if not missing:
            break
        stored = conn.execute(
            "INSERT INTO outbox_payloads (digest, payload)"
            " SELECT value->>0, value->>1 FROM json_array_elements(CAST(? AS json))"
            " ON CONFLICT (digest) DO NOTHING RETURNING digest, id",
            (orjson.dumps([(digest, wanted[digest]) for digest in missing]).decode(),),
        ).fetchall()
        ids.update((digest, part_id) for digest, part_id in stored)
        # Left: parts another transaction stored meanwhile, looked up again.
        missing = [digest for digest in missing if digest not in ids]
    return ids


SharedRow = tuple[int, int, int | None, SharedPart]
"""(chat_id, thread_id, target_id, request) of a row whose whole request is shared."""


def enqueue_shared_on(
    conn: Connection,
    rows: Sequence[SharedRow],
    *,
    kind: Kind,
    method: str,
    now: float,
) -> int:
    """Queue rows that each send a shared request, in the order given, inside the
    caller's transaction (`Database.write`). Returns how many.

    A scheduled run queues a hundred thousand of these: they go in as one JSON
    array that SQLite unpacks itself (`json_each`), so no Python work is done per
    row while SQLite inserts them, and the interpreter is free meanwhile to build
    the run's next batch."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if method not in METHODS:
        raise ValueError(f"the sender cannot make {method!r} requests")
    if not rows:
        return 0
    ids = _store_parts(conn, [row[3] for row in rows])
    hold_queue_order_on(conn)
    conn.execute(
        _INSERT_SHARED[_dialect_of(conn)],
        {
            "kind": kind,
            "priority": DEFAULT_PRIORITY[kind],
            "method": method,
            "now": int(now),
            "rows": json.dumps(
                [(chat, thread, target, ids[part.digest]) for chat, thread, target, part in rows],
                separators=(",", ":"),
            ),
        },
    )
    return len(rows)


_INSERT_SHARED: Final[Mapping[Dialect, str]] = {
    "sqlite": """
        INSERT INTO outbox (chat_id, thread_id, target_id, kind, priority, method, payload,
                            payload_id, not_before, created_at)
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
               json_extract(value, '$[2]'), :kind, :priority, :method, '{}',
               json_extract(value, '$[3]'), 0.0, :now
        FROM json_each(:rows)
        """,
    "postgresql": """
        INSERT INTO outbox (chat_id, thread_id, target_id, kind, priority, method, payload,
                            payload_id, not_before, created_at)
        SELECT (r->>0)::bigint, (r->>1)::bigint, (r->>2)::bigint, :kind, :priority, :method,
               '{}', (r->>3)::bigint, 0.0, :now
        FROM json_array_elements(CAST(:rows AS json)) WITH ORDINALITY AS given(r, n)
        ORDER BY n
        """,
}


async def enqueue(db: Database, messages: Iterable[NewMessage], *, now: float | None = None) -> int:
    async with db.transaction() as tx:
        return await enqueue_tx(tx, messages, now=now)


def _row(row: Row, shared: Mapping[int, str], requests: Mapping[int, str]) -> OutboxRow:
    payload = row["payload"]
    if row["payload_id"] is not None:
        payload = requests[row["id"]]
    elif payload == SHARED_PAYLOAD:
        payload = shared[row["broadcast_id"]]
    return OutboxRow(
        id=row["id"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"],
        target_id=row["target_id"],
        kind=row["kind"],
        priority=row["priority"],
        method=row["method"],
        payload=json.loads(payload),
        broadcast_id=row["broadcast_id"],
        attempts=row["attempts"],
    )


# A chat's head rows after (priority, id) and below a priority, in that order. Two
# arms, the rest of this priority and every later one, so both are index seeks
# (SQLite does not seek on a row-value comparison): a later page never rescans the
# earlier ones.
_HEAD = """
    SELECT o.id, o.chat_id, o.priority FROM outbox AS o
    WHERE o.state = 'pending' AND {position} AND o.priority < :below
      AND o.not_before <= :now
      AND o.chat_id NOT IN (SELECT value FROM json_each(:exclude))
      AND NOT EXISTS (
          SELECT 1 FROM outbox AS e
          WHERE e.chat_id = o.chat_id AND e.id < o.id AND e.state IN ('pending', 'sending'))
"""
_CANDIDATES = (
    "SELECT id, chat_id, priority FROM ("
    + _HEAD.format(position="o.priority = :priority AND o.id > :id")
    + " UNION ALL "
    + _HEAD.format(position="o.priority > :priority")
    + ") ORDER BY priority, id LIMIT :page"
)
# On PostgreSQL, several processes claim at once. The picked rows are locked until
# the claim commits and those another claim holds are passed over (SKIP LOCKED):
# two claims never pick the same row, and one does not wait for the other. A row
# another claim took since this statement began is checked again once its lock
# is free, and left out, as it is no longer 'pending'. PostgreSQL seeks on the
# row value, and FOR UPDATE allows no UNION: one arm.
_CANDIDATES_POSTGRESQL = """
    SELECT o.id, o.chat_id, o.priority FROM outbox AS o
    WHERE o.state = 'pending' AND (o.priority, o.id) > (:priority, :id) AND o.priority < :below
      AND o.not_before <= :now
      AND o.chat_id <> ALL(:exclude)
      AND NOT EXISTS (
          SELECT 1 FROM outbox AS e
          WHERE e.chat_id = o.chat_id AND e.id < o.id AND e.state IN ('pending', 'sending'))
    ORDER BY o.priority, o.id LIMIT :page
    FOR UPDATE OF o SKIP LOCKED
"""
# The candidates must be read by walking the queue's index in order, stopping at
# the page's end; a plan that reads every pending row, then sorts them, costs a
# claim 260 ms at 120,000 rows. The planner picks that plan when its statistics
# have the queue nearly empty, as they do after a broadcast or a digest run fills
# it until the next ANALYZE: for this transaction, no sort, no bitmap, no hash or
# merge join is left to pick.
_WALK_THE_QUEUE = (
    "SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true),"
    " set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)"
)
_CLAIM: Final[Mapping[Dialect, str]] = {
    "sqlite": "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_at = ?"
    " WHERE id IN (SELECT value FROM json_each(?)) RETURNING *",
    # The rows are this claim's (locked by `_pick`); the state guard says so again.
    "postgresql": "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_at = ?"
    " WHERE id = ANY(?) AND state = 'pending' RETURNING *",
}


async def claim(
    db: Database,
    *,
    limit: int,
    now: float,
    exclude_chats: Collection[int] = (),
    skip: Callable[[int], bool] | None = None,
    lease: float | None = None,
    in_flight: Collection[int] = (),
    paid_limit: int | None = None,
) -> list[OutboxRow]:
    """Mark up to `limit` due rows 'sending' and return them, best (priority, id) first.

    Only a chat's oldest unfinished row can be claimed, so a chat's messages go
    in the order they were queued, one at a time, and a chat waiting for a
    retry holds back its later messages. Chats the caller knows cannot send
    soon (rate limits) are left for a later claim: `exclude_chats` names them,
    or `skip(chat_id)` says so for each candidate met, which costs a call per
    candidate instead of a set of every chat recently written to.

    With a `lease` (seconds), rows claimed longer ago than that go back to the
    queue first, except the ids the caller still has `in_flight`: a row whose
    outcome could not be written would otherwise hold its chat until a restart.

    `paid_limit`: the caller sends paid broadcasts on a budget of their own, so
    `limit` counts the other rows and up to `paid_limit` rows of paid broadcasts
    are claimed besides. None: a paid broadcast's copies are rows like any other.
    """
    if limit <= 0 and not paid_limit:
        return []
    dialect = db.dialect
    async with db.transaction() as tx:
        if dialect == "postgresql":
            await tx.execute(_WALK_THE_QUEUE)
        if lease is not None:
            await _expire_leases(tx, before=now - lease, in_flight=in_flight, dialect=dialect)
        exclude = _id_list(list(exclude_chats), dialect)
        pick = partial(_pick, tx, now=now, exclude=exclude, skip=skip, dialect=dialect)
        if paid_limit is None:
            ids = await pick(limit, start=_FIRST, below=_NO_BOUND)
        else:
            ids = await pick(limit, start=_FIRST, below=PAID_BROADCAST)
            # A chat has one head row, free or paid: the two picks never share a chat.
            ids += await pick(paid_limit, start=_PAID, below=PAID_BROADCAST + 1)
        if not ids:
            return []
        cursor = await tx.execute(_CLAIM[dialect], (now, _id_list(ids, dialect)))
        found = list(await cursor.fetchall())
        shared = await _broadcast_requests(
            tx,
            {row["broadcast_id"] for row in found if row["payload"] == SHARED_PAYLOAD},
            dialect,
        )
        requests = await _joined_requests(
            tx, [row["id"] for row in found if row["payload_id"] is not None], dialect
        )
    claimed = [_row(row, shared, requests) for row in found]
    claimed.sort(key=lambda row: (row.priority, row.id))
    return claimed


_FIRST: Final = (-(2**62), 0)
_PAID: Final = (PAID_BROADCAST, 0)
_NO_BOUND: Final = 2**62


async def _pick(
    tx: Transaction,
    limit: int,
    *,
    now: float,
    exclude: str | list[int],
    skip: Callable[[int], bool] | None,
    start: tuple[int, int],
    below: int,
    dialect: Dialect,
) -> list[int]:
    """Up to `limit` claimable row ids after `start` (priority, id) and below priority
    `below`, in queue order, leaving out the chats `skip` holds back. On PostgreSQL
    the candidates stay locked until the claim ends, those `skip` held back too."""
    ids: list[int] = []
    after = start
    page = limit + 16
    candidates_sql = _CANDIDATES if dialect == "sqlite" else _CANDIDATES_POSTGRESQL
    while len(ids) < limit:
        cursor = await tx.execute(
            candidates_sql,
            {
                "now": now,
                "priority": after[0],
                "id": after[1],
                "below": below,
                "exclude": exclude,
                "page": page,
            },
        )
        candidates = list(await cursor.fetchall())
        for row_id, chat_id, _ in candidates:
            if skip is None or not skip(chat_id):
                ids.append(row_id)
                if len(ids) == limit:
                    break
        if len(candidates) < page:
            break
        after = (candidates[-1][2], candidates[-1][0])
        page *= 2  # the skipped ones were many: look further in fewer steps
    return ids


_BROADCAST_REQUESTS: Final[Mapping[Dialect, str]] = {
    "sqlite": "SELECT id, json_extract(payload, '$.params') FROM broadcasts"
    " WHERE id IN (SELECT value FROM json_each(?))",
    # json, not jsonb, keeps the object's text as written (its keys' order).
    "postgresql": "SELECT id, CAST(CAST(payload AS json)->'params' AS text) FROM broadcasts"
    " WHERE id = ANY(?)",
}


async def _broadcast_requests(
    tx: Transaction, ids: Collection[int], dialect: Dialect
) -> dict[int, str]:
    """The Bot API parameters (JSON) of each broadcast, for the copies that share them."""
    if not ids:
        return {}
    cursor = await tx.execute(_BROADCAST_REQUESTS[dialect], (_id_list(sorted(ids), dialect),))
    return {row[0]: row[1] for row in await cursor.fetchall()}


_JOINED_REQUESTS: Final[Mapping[Dialect, str]] = {
    "sqlite": "SELECT id, request FROM outbox_requests"
    " WHERE id IN (SELECT value FROM json_each(?))",
    "postgresql": "SELECT id, request FROM outbox_requests WHERE id = ANY(?)",
}


async def _joined_requests(
    tx: Transaction, ids: Collection[int], dialect: Dialect
) -> dict[int, str]:
    """The full request (JSON) of each row that shares part of it (`SharedPart`)."""
    if not ids:
        return {}
    cursor = await tx.execute(_JOINED_REQUESTS[dialect], (_id_list(sorted(ids), dialect),))
    return {row[0]: row[1] for row in await cursor.fetchall()}


def _id_list(ids: list[int], dialect: Dialect) -> str | list[int]:
    """Ids as one parameter: a JSON array for SQLite's json_each, an array on PostgreSQL."""
    return json.dumps(ids) if dialect == "sqlite" else ids


_EXPIRE_LEASES: Final[Mapping[Dialect, str]] = {
    "sqlite": "UPDATE outbox SET state = 'pending', last_error = 'claim expired'"
    " WHERE state = 'sending' AND coalesce(claimed_at, 0) < ?"
    " AND id NOT IN (SELECT value FROM json_each(?))",
    # A row whose outcome another process is writing right now is locked: passed
    # over, not waited for (two writers locking the same rows in two orders
    # could each wait for the other).
    "postgresql": "UPDATE outbox SET state = 'pending', last_error = 'claim expired'"
    " WHERE id IN (SELECT id FROM outbox WHERE state = 'sending'"
    " AND coalesce(claimed_at, 0) < ? AND id <> ALL(?) FOR UPDATE SKIP LOCKED)",
}


async def _expire_leases(
    tx: Transaction, *, before: float, in_flight: Collection[int], dialect: Dialect
) -> int:
    """Rows 'sending' since before `before`, and not in flight here, are pending again.
    Walks only the rows in flight (a partial index), a few dozen at most."""
    cursor = await tx.execute(_EXPIRE_LEASES[dialect], (before, _id_list(list(in_flight), dialect)))
    return cursor.rowcount


async def _update(db: Database, sql: str, params: Mapping[str, Any]) -> int:
    async with db.transaction() as tx:
        cursor = await tx.execute(sql, params)
        return cursor.rowcount


async def mark_sent(db: Database, row_id: int, message_id: int | None, now: float) -> bool:
    """Telegram accepted the message. Recorded even if the row was dropped or
    cancelled meanwhile: the message did go out."""
    changed = await _update(
        db,
        "UPDATE outbox SET state = 'sent', telegram_message_id = :message_id,"
        " finished_at = :now WHERE id = :id AND state IN ('sending', 'dropped', 'cancelled')",
        {"id": row_id, "message_id": message_id, "now": int(now)},
    )
    return changed > 0


async def mark_sent_many(db: Database, sent: Sequence[tuple[int, int | None]], now: float) -> int:
    """`mark_sent` for many rows (row id, Telegram message id) in one transaction: the
    sender's group commit. Returns how many rows changed."""
    if not sent:
        return 0
    rows = [(message_id, int(now), row_id) for row_id, message_id in sent]

    def mark(conn: Connection) -> int:
        return conn.executemany(
            "UPDATE outbox SET state = 'sent', telegram_message_id = ?, finished_at = ?"
            " WHERE id = ? AND state IN ('sending', 'dropped', 'cancelled')",
            rows,
        ).rowcount

    # One trip to the writer's thread (begin, update, commit), not one per statement:
    # at the sender's ceiling a group is written every few milliseconds.
    return await db.write(mark)


async def mark_failed(db: Database, row_id: int, reason: str, now: float) -> bool:
    """Give up on a row for good (a content error, or too many attempts)."""
    changed = await _update(
        db,
        "UPDATE outbox SET state = 'failed', last_error = :reason, finished_at = :now"
        " WHERE id = :id AND state = 'sending'",
        {"id": row_id, "reason": reason, "now": int(now)},
    )
    return changed > 0


async def retry_later(db: Database, row_id: int, not_before: float, error: str | None) -> bool:
    """Put a claimed row back in the queue, due at `not_before` (Unix seconds)."""
    changed = await _update(
        db,
        "UPDATE outbox SET state = 'pending', not_before = :not_before,"
        " last_error = coalesce(:error, last_error) WHERE id = :id AND state = 'sending'",
        {"id": row_id, "not_before": not_before, "error": error},
    )
    return changed > 0


async def recent_sends(db: Database, since: float) -> dict[int, float]:
    """When each chat was last written to, for a sender starting after another stopped:
    'sent' rows finished since `since` (their second's end, as finished_at is whole
    seconds), and `inf` for chats with a row left 'sending' (it may just have gone)."""
    rows = await db.fetchall(
        "SELECT chat_id, max(finished_at) + 1 AS at FROM outbox"
        " WHERE finished_at >= ? AND state = 'sent' GROUP BY chat_id",
        (int(since),),
    )
    recent = {row["chat_id"]: float(row["at"]) for row in rows}
    in_flight = await db.fetchall("SELECT DISTINCT chat_id FROM outbox WHERE state = 'sending'")
    recent.update((row["chat_id"], float("inf")) for row in in_flight)
    return recent


async def reset_in_flight(db: Database) -> int:
    """At start-up: rows left 'sending' by a stopped process are pending again.
    Only correct while one sender works on the database."""
    async with db.transaction() as tx:
        cursor = await tx.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'")
        return cursor.rowcount


async def cancel_broadcast(db: Database, broadcast_id: int, *, now: float | None = None) -> int:
    """Stop a broadcast: its unsent rows are cancelled (rows already in flight finish).
    Returns how many rows were cancelled."""
    at = int(time.time() if now is None else now)
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "UPDATE outbox SET state = 'cancelled', finished_at = :now"
            " WHERE broadcast_id = :id AND state = 'pending'",
            {"id": broadcast_id, "now": at},
        )
        await tx.execute(
            "UPDATE broadcasts SET state = 'cancelled', finished_at = :now"
            " WHERE id = :id AND state IN ('draft', 'sending')",
            {"id": broadcast_id, "now": at},
        )
        return cursor.rowcount


def _count_states(rows: Iterable[Row]) -> dict[str, int]:
    return {row["state"]: row["n"] for row in rows}


async def broadcast_progress(db: Database, broadcast_id: int) -> BroadcastProgress:
    counts = _count_states(
        await db.fetchall(
            "SELECT state, count(*) AS n FROM outbox WHERE broadcast_id = ? GROUP BY state",
            (broadcast_id,),
        )
    )
    return BroadcastProgress(
        sent=counts.get("sent", 0),
        dropped=counts.get("dropped", 0),
        failed=counts.get("failed", 0),
        cancelled=counts.get("cancelled", 0),
        remaining=counts.get("pending", 0) + counts.get("sending", 0),
    )


async def depth(db: Database) -> int:
    """Rows not finished yet (pending or in flight)."""
    value = await db.fetchval("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')")
    return int(value)


async def backlog(db: Database, now: float) -> dict[str, tuple[int, float | None]]:
    """Per kind with rows not finished: (how many, pending or in flight; when the
    oldest row that is due and still waiting was queued, Unix seconds, or None when
    none is). One pass over the unfinished rows' index, on the reader."""
    rows = await db.fetchall(
        "SELECT kind, count(*) AS n,"
        " min(CASE WHEN state = 'pending' AND not_before <= :now THEN created_at END) AS oldest"
        " FROM outbox WHERE state IN ('pending', 'sending') GROUP BY kind",
        {"now": now},
    )
    return {
        row["kind"]: (int(row["n"]), None if row["oldest"] is None else float(row["oldest"]))
        for row in rows
    }


async def next_due(db: Database, after: float) -> float | None:
    """The earliest `not_before` later than `after` among pending rows, if any."""
    value = await db.fetchval(
        "SELECT min(not_before) FROM outbox WHERE state = 'pending' AND not_before > ?", (after,)
    )
    return None if value is None else float(value)


async def delivery_counts(db: Database, since: float) -> DeliveryCounts:
    """How rows finished since `since` (Unix seconds): for statistics."""
    counts = _count_states(
        await db.fetchall(
            "SELECT state, count(*) AS n FROM outbox WHERE finished_at >= ? GROUP BY state",
            (int(since),),
        )
    )
    return DeliveryCounts(
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
        dropped=counts.get("dropped", 0),
        cancelled=counts.get("cancelled", 0),
    )


async def last_delivered(db: Database) -> float | None:
    """When the sender last finished a row with Telegram's answer (sent, or failed
    for good), Unix seconds; None if it never has (or the rows were pruned). Read
    from the end of the finished rows' index."""
    value = await db.fetchval(
        "SELECT max(finished_at) FROM outbox"
        " WHERE finished_at IS NOT NULL AND state IN ('sent', 'failed')"
    )
    return None if value is None else float(value)
