"""The durable outbox: every action is committed to SQLite before it is attempted, or while it is.

One row per action: (id, target, kind, payload JSON, created, attempts, next_attempt, expires,
state, last_error), attachments (file paths or JPEG blobs) in a table of their own. A row is
`pending` until its sender succeeds (`done`) or its expiry passes (`dead`, logged and kept for
`status()`/`dead_letters()`). Delivery is at least once: a row is marked done only after the
sender returned, so a daemon that dies in between delivers that row again after the restart.

Each target has its own worker group (a task with a nursery) with its own concurrency limit, so a
slow or dead target never delays another one, nor the producer: `enqueue` only writes the row.
An *eager* sender (MQTT: the event subscribers wait for) that is idle (nothing pending, nothing in
flight) gets the action while its row commits: the commit's fsync no longer stands between an event
and its delivery. The row is written as in flight (attempt counted, never claimed meanwhile) and the
outcome recorded once both are done; anything enqueued meanwhile waits its turn, so order holds.
The database runs in WAL mode with synchronous=FULL; every statement runs in a worker thread, one
at a time, so a slow disk never blocks the trio loop. Its layout is versioned (PRAGMA user_version):
opening it applies the MIGRATIONS it lacks, and a database of a newer recorderd is refused.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, TypeVarTuple

import trio

from recorderd.core.backoff import Backoff, BackoffPolicy
from recorderd.core.errors import RecorderdError, safe_reason
from recorderd.core.ratelog import RateLimitedLog

log = logging.getLogger("recorderd.actions")

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
State = Literal["pending", "done", "dead"]
# what an action does, which names its sender's family (a target of that kind, the broker, a camera)
ActionKind = Literal["mqtt", "email", "ftp", "http", "link"]

# Version 1: the layout of every outbox written before it was versioned. Never edit it: a change of
# layout is a new step in MIGRATIONS, so that a fresh database and a migrated one are the same.
SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    expires REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
    last_error TEXT,
    finished REAL,
    coalesce_key TEXT
);
CREATE INDEX IF NOT EXISTS actions_due ON actions (state, target, next_attempt);
CREATE INDEX IF NOT EXISTS actions_coalesce ON actions (coalesce_key) WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS attachments (
    action_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    path TEXT,
    data BLOB,
    PRIMARY KEY (action_id, seq)
);
CREATE TABLE IF NOT EXISTS pacing (key TEXT PRIMARY KEY, last REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# MIGRATIONS[n - 1] takes a database from version n to n + 1: SQL statements, e.g.
# "ALTER TABLE actions ADD COLUMN priority INTEGER NOT NULL DEFAULT 0". Only ever append: each step
# runs once, in order, in the transaction that stamps the new version.
MIGRATIONS: tuple[str, ...] = ()
SCHEMA_VERSION = 1 + len(MIGRATIONS)


class OutboxUnavailable(RecorderdError):
    """The outbox database cannot be opened (message says why), e.g. a newer recorderd wrote it."""


def _statements(script: str) -> Iterator[str]:
    """A script's statements one at a time: executescript() would commit the open transaction."""
    stmt = ""
    for part in script.split(";"):
        stmt += part + ";"
        if sqlite3.complete_statement(stmt):  # not inside a string or a trigger body
            if stmt.strip(" \t\n;"):
                yield stmt
            stmt = ""


def migrate(db: sqlite3.Connection, path: Path, steps: Sequence[str] = MIGRATIONS) -> int:
    """Bring the database to version 1 + len(steps), all in one transaction; returns the version it
    had (0: a fresh file, or one written before versioning). A newer one raises OutboxUnavailable."""
    newest = 1 + len(steps)

    def version() -> int:
        v = int(db.execute("PRAGMA user_version").fetchone()[0])
        if v > newest:
            raise OutboxUnavailable(
                f"{path}: outbox schema {v} is newer than this recorderd ({newest}); run the newer "
                "recorderd, or move the file away (its pending actions are then not sent)"
            )
        return v

    if (old := version()) == newest:  # the usual open: no write lock taken
        return old
    db.execute("BEGIN IMMEDIATE")
    try:
        old = v = version()  # again under the lock: another process may have migrated it meanwhile
        if v == 0:
            # IF NOT EXISTS: a file from before versioning keeps its tables and rows (version 1's)
            for stmt in _statements(SCHEMA):
                db.execute(stmt)
            v = 1
        for step in steps[v - 1 :]:
            for stmt in _statements(step):
                db.execute(stmt)
        db.execute(f"PRAGMA user_version = {newest}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    if old:
        log.info("outbox: %s migrated from schema %d to %d", path, old, newest)
    return old


@dataclass(frozen=True)
class Attachment:
    """A file to send: JPEG bytes kept in the database, or a path read when sending."""

    name: str
    data: bytes | None = None
    path: str | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.path is None:
            raise ValueError(f"attachment {self.name} has neither data nor path")
        return Path(self.path).read_bytes()


@dataclass(frozen=True)
class Coalesce:
    """Pace rows sharing `key` to one per `interval` seconds; rows inside it merge into the next.

    A row that has not been attempted yet and is scheduled in the future takes the new payload's
    `events` (appended) and attachments (up to `max_attachments`) instead of a new row.
    """

    key: str
    interval: float
    max_attachments: int = 20


@dataclass(frozen=True)
class Action:
    id: int
    target: str
    kind: ActionKind
    payload: dict[str, Any]
    created: float
    attempts: int
    next_attempt: float
    expires: float
    state: State
    last_error: str | None


# Retries of an action: from 5 s, doubling to 10 minutes, up to a fifth earlier (so the rows of
# many targets that failed together do not retry in step).
RETRY = BackoffPolicy(base=5.0, cap=600.0, jitter=0.2)


class DeliveryError(RecorderdError):
    """A failed attempt; `permanent` ones are dead-lettered at once (retrying cannot help)."""

    def __init__(self, message: str, *, permanent: bool = False, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code


class Sender(ABC):
    """Delivers one action to one target; raises DeliveryError (or any Exception) on failure.

    `concurrency` attempts run at once; `timeout_for(action)` bounds one attempt (a relay pattern's
    length depends on the action). It is abstract on purpose: a sender that wraps another (a reload
    swaps the inner one) must forward it, and one that forgets cannot be built (mypy and Python
    both refuse an abstract class). Senders with one bound for every action derive from
    FixedTimeoutSender.
    """

    concurrency: int = 1
    # eager: an action that finds its target idle (nothing pending, nothing in flight) is handed
    # to the sender while its row is being committed, not after (the commit's fsync is the tail
    # of an event's latency). Still at least once: a row is done only after the sender returned
    # and the commit ended; a daemon that dies before the commit ended had not queued it either.
    eager: bool = False

    @abstractmethod
    def timeout_for(self, action: Action) -> float: ...

    @abstractmethod
    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None: ...


class FixedTimeoutSender(Sender):
    """A sender whose attempts all have the same bound, `timeout` seconds."""

    timeout: float = 30.0

    def timeout_for(self, action: Action) -> float:
        return float(self.timeout)


@dataclass(frozen=True)
class Report:
    """What became of one attempt: done, retry (at next_attempt) or dead."""

    action: Action
    state: Literal["done", "retry", "dead"]
    error: str | None = None
    next_attempt: float | None = None


@dataclass
class Status:
    counts: dict[str, dict[State, int]] = field(default_factory=dict)  # target -> state -> rows
    oldest_pending: float | None = None


def _row(r: sqlite3.Row) -> Action:
    return Action(
        id=r["id"],
        target=r["target"],
        kind=r["kind"],
        payload=json.loads(r["payload"]),
        created=r["created"],
        attempts=r["attempts"],
        next_attempt=r["next_attempt"],
        expires=r["expires"],
        state=r["state"],
        last_error=r["last_error"],
    )


class OutboxStore:
    """The SQLite side, synchronous; the trio shell calls it from a worker thread, one call at a time."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        db = None
        try:
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=busy_timeout)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            migrate(db, path)
        except BaseException as e:
            if db is not None:
                db.close()
            if isinstance(e, sqlite3.Error):
                raise OutboxUnavailable(f"{path}: cannot open the outbox: {e}") from None
            raise
        self._db = db
        # rows claimed and not yet finished: never coalesced into (their payload is on its way)
        self._in_flight: set[int] = set()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(
        self,
        target: str,
        kind: ActionKind,
        payload: Mapping[str, Any],
        attachments: Sequence[Attachment],
        *,
        now: float,
        expires: float,
        coalesce: Coalesce | None = None,
        in_flight: bool = False,
    ) -> int:
        """The new row's id (a coalesced one: the row it joined). `in_flight`: already being
        attempted (an eager delivery), so no claim takes it until its outcome is recorded."""
        with self._tx() as db:
            next_attempt = now
            if coalesce is not None:
                merged = self._merge(coalesce, payload, attachments, now, expires)
                if merged is not None:
                    return merged
                r = db.execute("SELECT last FROM pacing WHERE key = ?", (coalesce.key,)).fetchone()
                if r is not None:
                    next_attempt = max(now, r["last"] + coalesce.interval)
                db.execute(
                    "INSERT INTO pacing (key, last) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET last = excluded.last",
                    (coalesce.key, next_attempt),
                )
            cur = db.execute(
                "INSERT INTO actions (target, kind, payload, created, next_attempt, expires, coalesce_key,"
                " attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    target,
                    kind,
                    json.dumps(payload, separators=(",", ":")),
                    now,
                    next_attempt,
                    max(expires, next_attempt),
                    coalesce.key if coalesce else None,
                    int(in_flight),  # its attempt counted already, as a claim would (count_attempts)
                ),
            )
            action_id = cur.lastrowid
            assert action_id is not None
            self._attach(action_id, 0, attachments)
        if in_flight:
            self._in_flight.add(action_id)
        return action_id

    def _attach(self, action_id: int, first: int, attachments: Sequence[Attachment]) -> None:
        self._db.executemany(
            "INSERT INTO attachments (action_id, seq, name, path, data) VALUES (?, ?, ?, ?, ?)",
            [(action_id, first + i, a.name, a.path, a.data) for i, a in enumerate(attachments)],
        )

    def _merge(
        self,
        co: Coalesce,
        payload: Mapping[str, Any],
        attachments: Sequence[Attachment],
        now: float,
        expires: float,
    ) -> int | None:
        r = self._db.execute(
            "SELECT id, payload, expires FROM actions WHERE coalesce_key = ? AND state = 'pending'"
            " AND attempts = 0 AND next_attempt > ? ORDER BY id DESC LIMIT 1",
            (co.key, now),
        ).fetchone()
        if r is None or r["id"] in self._in_flight:
            return None
        old = json.loads(r["payload"])
        old.setdefault("events", []).extend(payload.get("events", []))
        n = self._db.execute(
            "SELECT COUNT(*) AS n, COALESCE(MAX(seq) + 1, 0) AS next FROM attachments WHERE action_id = ?",
            (r["id"],),
        ).fetchone()
        room = max(0, co.max_attachments - n["n"])
        self._attach(r["id"], n["next"], attachments[:room])
        self._db.execute(
            "UPDATE actions SET payload = ?, expires = ? WHERE id = ?",
            (json.dumps(old, separators=(",", ":")), max(r["expires"], expires), r["id"]),
        )
        return int(r["id"])

    def claim_due(
        self, target: str, now: float, limit: int, busy: Sequence[int]
    ) -> tuple[list[Action], list[Action]]:
        """Due rows for `target` not in `busy`, their attempt counted; and the expired ones, now dead.

        Claiming only reads: the caller keeps claimed rows in `busy`, counts the attempt in the
        database meanwhile (`count_attempts`, while the delivery is under way) and again with its
        outcome (`succeed`, `fail`). So no commit (no fsync) stands between an event's row and its
        delivery, and a delivery that kills the daemon still backs off at the next start."""
        busy = sorted({*busy, *self._in_flight})
        marks = ",".join("?" * len(busy))
        rows = self._db.execute(
            "SELECT * FROM actions WHERE state = 'pending' AND target = ? AND next_attempt <= ?"
            + (f" AND id NOT IN ({marks})" if busy else "")
            + " ORDER BY next_attempt, id LIMIT ?",
            (target, now, *busy, limit),
        ).fetchall()
        claimed: list[Action] = []
        expired: list[Action] = []
        for r in rows:
            a = _row(r)
            if a.expires <= now:
                expired.append(a)
            else:
                claimed.append(dataclasses.replace(a, attempts=a.attempts + 1))
                self._in_flight.add(a.id)
        if expired:
            with self._tx() as db:
                for a in expired:
                    why = a.last_error or "expired before it could be attempted"
                    db.execute(
                        "UPDATE actions SET state = 'dead', finished = ?, last_error = ? WHERE id = ?",
                        (now, why, a.id),
                    )
        return claimed, expired

    def next_due(self, target: str, busy: Sequence[int]) -> float | None:
        busy = sorted({*busy, *self._in_flight})
        marks = ",".join("?" * len(busy))
        r = self._db.execute(
            "SELECT MIN(next_attempt) AS t FROM actions WHERE state = 'pending' AND target = ?"
            + (f" AND id NOT IN ({marks})" if busy else ""),
            (target, *busy),
        ).fetchone()
        return None if r["t"] is None else float(r["t"])

    def attachments(self, action_id: int) -> list[Attachment]:
        rows = self._db.execute(
            "SELECT name, path, data FROM attachments WHERE action_id = ? ORDER BY seq", (action_id,)
        ).fetchall()
        return [Attachment(r["name"], r["data"], r["path"]) for r in rows]

    def count_attempts(self, claimed: Sequence[Action]) -> None:
        """Record the attempt of each claimed row (unless its outcome already did)."""
        with self._tx() as db:
            db.executemany(
                "UPDATE actions SET attempts = ? WHERE id = ? AND state = 'pending' AND attempts < ?",
                [(a.attempts, a.id, a.attempts) for a in claimed],
            )

    def succeed(self, action_id: int, now: float, attempts: int = 1) -> None:
        """The row is done after `attempts` attempts (the claimed Action's count)."""
        with self._tx() as db:
            db.execute(
                "UPDATE actions SET state = 'done', finished = ?, last_error = NULL, attempts = ?"
                " WHERE id = ?",
                (now, attempts, action_id),
            )
            db.execute("DELETE FROM attachments WHERE action_id = ?", (action_id,))
        self._in_flight.discard(action_id)

    def fail(
        self, action_id: int, error: str, now: float, next_attempt: float | None, attempts: int | None = None
    ) -> bool:
        """Record a failed attempt (`attempts`: the claimed Action's count; None: one more than
        recorded); dead when `next_attempt` is None or past the expiry. True if dead."""
        with self._tx() as db:
            r = db.execute("SELECT expires, attempts FROM actions WHERE id = ?", (action_id,)).fetchone()
            dead = next_attempt is None or r is None or next_attempt >= r["expires"]
            n = attempts if attempts is not None else (r["attempts"] + 1 if r is not None else 1)
            if dead:
                db.execute(
                    "UPDATE actions SET state = 'dead', finished = ?, last_error = ?, attempts = ?"
                    " WHERE id = ?",
                    (now, error, n, action_id),
                )
            else:
                db.execute(
                    "UPDATE actions SET next_attempt = ?, last_error = ?, attempts = ? WHERE id = ?",
                    (next_attempt, error, n, action_id),
                )
        self._in_flight.discard(action_id)
        return dead

    def get(self, action_id: int) -> Action | None:
        r = self._db.execute("SELECT * FROM actions WHERE id = ?", (action_id,)).fetchone()
        return None if r is None else _row(r)

    def by_state(self, state: State, limit: int = 100, target: str | None = None) -> list[Action]:
        rows = self._db.execute(
            "SELECT * FROM actions WHERE state = ?"
            + (" AND target = ?" if target is not None else "")
            + " ORDER BY id DESC LIMIT ?",
            (state, target, limit) if target is not None else (state, limit),
        ).fetchall()
        return [_row(r) for r in rows]

    def status(self) -> Status:
        st = Status()
        for r in self._db.execute("SELECT target, state, COUNT(*) AS n FROM actions GROUP BY target, state"):
            st.counts.setdefault(r["target"], {})[r["state"]] = r["n"]
        r = self._db.execute("SELECT MIN(created) AS t FROM actions WHERE state = 'pending'").fetchone()
        st.oldest_pending = r["t"]
        return st

    def pending_targets(self) -> set[str]:
        rows = self._db.execute("SELECT DISTINCT target FROM actions WHERE state = 'pending'")
        return {r["target"] for r in rows}

    def expire_orphans(self, known: set[str], now: float) -> list[Action]:
        """Pending rows of targets no longer configured: dead once expired, else kept for later."""
        dead: list[Action] = []
        with self._tx() as db:
            for target in self.pending_targets() - known:
                rows = db.execute(
                    "SELECT * FROM actions WHERE state = 'pending' AND target = ? AND expires <= ?",
                    (target, now),
                ).fetchall()
                for r in rows:
                    db.execute(
                        "UPDATE actions SET state = 'dead', finished = ?, last_error = ? WHERE id = ?",
                        (now, f"target {target} is not configured", r["id"]),
                    )
                    dead.append(_row(r))
        return dead

    def prune(self, now: float, keep_done: float, keep_dead: float) -> int:
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM actions WHERE (state = 'done' AND finished < ?) OR (state = 'dead' AND finished < ?)",
                (now - keep_done, now - keep_dead),
            )
            # a dead row stays queryable, its snapshots need not: they are the bulk of the file
            db.execute(
                "DELETE FROM attachments WHERE action_id IN (SELECT id FROM actions WHERE state != 'pending')"
            )
        return cur.rowcount

    def used_bytes(self) -> int:
        """Bytes the database's live pages take (free pages are reused, not counted)."""
        db = self._db
        pages = (
            db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
        )
        return int(pages) * int(db.execute("PRAGMA page_size").fetchone()[0])

    def enforce_cap(self, max_bytes: int, now: float) -> tuple[int, int]:
        """Bring the database under `max_bytes` (to 90 % of it), the cheapest loss first: the
        attachments of finished rows, then the snapshots of the oldest pending rows (their events
        still go out), then, only if the events alone are too many, the oldest pending rows are
        dead-lettered. Returns (attachments dropped, rows dead-lettered)."""
        if self.used_bytes() <= max_bytes:
            return 0, 0
        target = int(max_bytes * 0.9)
        with self._tx() as db:
            db.execute(
                "DELETE FROM attachments WHERE action_id IN (SELECT id FROM actions WHERE state != 'pending')"
            )
        blobs = dead = 0
        while self.used_bytes() > target:
            with self._tx() as db:
                doomed = db.execute(
                    "SELECT action_id, seq FROM attachments ORDER BY action_id, seq LIMIT 8"
                ).fetchall()
                db.executemany(
                    "DELETE FROM attachments WHERE action_id = ? AND seq = ?",
                    [(r["action_id"], r["seq"]) for r in doomed],
                )
            if not doomed:
                break
            blobs += len(doomed)
        while self.used_bytes() > target:
            with self._tx() as db:
                cur = db.execute(
                    "UPDATE actions SET state = 'dead', finished = ?, last_error = ? WHERE id IN "
                    "(SELECT id FROM actions WHERE state = 'pending' ORDER BY id LIMIT 256)",
                    (now, "the outbox reached its size cap (storage.outbox_max)"),
                )
                db.execute(
                    "DELETE FROM actions WHERE state != 'pending' AND id IN "
                    "(SELECT id FROM actions WHERE state != 'pending' ORDER BY id LIMIT 1024)"
                )
            if cur.rowcount <= 0:
                break
            dead += cur.rowcount
        return blobs, dead

    def next_sequence(self, key: str, maximum: int) -> int:
        """1, 2, ..., maximum, 1, ... per key, durable across restarts."""
        with self._tx() as db:
            r = db.execute("SELECT value FROM counters WHERE key = ?", (key,)).fetchone()
            value = 1 if r is None or r["value"] >= maximum else r["value"] + 1
            db.execute(
                "INSERT INTO counters (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        return value


DB_RETRY_CAP = 30.0


class _DbTrouble:
    """Backoff and logging for a database that fails (ENOSPC, I/O error, locked): one error line
    when it starts or its reason changes, one line when it works again."""

    def __init__(self, who: str, doing: str) -> None:
        self.who = who
        self.doing = doing
        self._backoff = Backoff(0.5, DB_RETRY_CAP, jitter=0.0)
        self._log = RateLimitedLog(log, every=math.inf, max_keys=1)

    def failed(self, e: sqlite3.Error) -> float:
        """Log if new; the seconds to wait before trying again."""
        reason = str(e) or type(e).__name__
        self._log.log(
            self.who,
            logging.ERROR,
            "%s: cannot %s (database error: %s); retrying, at most every %gs",
            self.who,
            self.doing,
            reason,
            DB_RETRY_CAP,
        )
        return self._backoff.next_delay()

    def ok(self) -> None:
        self._backoff.reset()
        if self._log.clear(self.who):
            log.warning("%s: the database works again", self.who)


class Outbox:
    """The trio shell around an OutboxStore: enqueue, and deliver with one worker group per target."""

    def __init__(
        self,
        store: OutboxStore,
        senders: Mapping[str, Sender],
        *,
        policy: BackoffPolicy | None = None,
        wall: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        observer: Callable[[Report], None] | None = None,
        keep_done: float = 86400.0,
        keep_dead: float = 30 * 86400.0,
        max_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.max_bytes = max_bytes  # bound: the database's size (enforce_cap after each enqueue)
        self.senders = dict(senders)
        self.policy = policy or RETRY
        self.wall = wall
        self.rng = rng
        self.observer = observer
        self.keep_done = keep_done
        self.keep_dead = keep_dead
        self._db_lock = trio.CapacityLimiter(1)
        self._wake: dict[str, trio.Event] = {t: trio.Event() for t in self.senders}
        self._busy: dict[str, set[int]] = {t: set() for t in self.senders}  # attempts under way
        # a target's group waits with nothing pending and nothing in flight (eager senders only)
        self._idle: dict[str, bool] = dict.fromkeys(self.senders, False)
        self._adds: dict[str, int] = dict.fromkeys(self.senders, 0)  # enqueues so far, per target
        self._nursery: trio.Nursery | None = None  # where eager attempts run
        self._provisional = -1  # ids of eager attempts until their row's id is known

    async def _db(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        return await trio.to_thread.run_sync(fn, *args, limiter=self._db_lock)

    async def enqueue(
        self,
        target: str,
        kind: ActionKind,
        payload: Mapping[str, Any],
        attachments: Sequence[Attachment] = (),
        *,
        expire: float,
        coalesce: Coalesce | None = None,
    ) -> int:
        """Commit one action (returns its id; a coalesced one returns the row it joined)."""
        if target not in self.senders:
            raise ValueError(f"no sender for target {target!r}")
        now = self.wall()
        eager = self._idle[target] and not attachments and coalesce is None and self._nursery is not None
        self._idle[target] = False
        self._adds[target] += 1
        known: list[int] = []  # the row's id, for an eager attempt
        committed = trio.Event()
        if eager:
            assert self._nursery is not None
            self._provisional -= 1
            action = Action(
                self._provisional, target, kind, dict(payload), now, 1, now, now + expire, "pending", None
            )
            self._busy[target].add(action.id)
            self._nursery.start_soon(self._attempt, self.senders[target], action, [], committed, known)

        def add() -> tuple[int, tuple[int, int]]:
            action_id = self.store.add(
                target,
                kind,
                payload,
                attachments,
                now=now,
                expires=now + expire,
                coalesce=coalesce,
                in_flight=eager,
            )
            cut = (0, 0) if self.max_bytes is None else self.store.enforce_cap(self.max_bytes, now)
            return action_id, cut

        try:
            action_id, (blobs, dead) = await self._db(add)
            known.append(action_id)
        finally:
            committed.set()
        if blobs or dead:
            log.error(
                "outbox: over its size cap (%d bytes): %d attachment(s) of the oldest pending actions "
                "dropped, %d action(s) dead-lettered",
                self.max_bytes,
                blobs,
                dead,
            )
        self._wake[target].set()
        return action_id

    async def next_sequence(self, key: str, maximum: int) -> int:
        return await self._db(self.store.next_sequence, key, maximum)

    async def status(self) -> Status:
        return await self._db(self.store.status)

    async def dead_letters(self, limit: int = 100) -> list[Action]:
        def dead() -> list[Action]:
            return self.store.by_state("dead", limit)

        return await self._db(dead)

    async def get(self, action_id: int) -> Action | None:
        return await self._db(self.store.get, action_id)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        now = self.wall()
        try:
            for a in await self._db(self.store.expire_orphans, set(self.senders), now):
                self._report(Report(a, "dead", f"target {a.target} is not configured"))
            orphans = await self._db(self.store.pending_targets)
        except sqlite3.Error as e:  # looked at again at the next start; delivery goes on
            log.error("outbox: cannot look for actions of removed targets (database error: %s)", e)
            orphans = set()
        for target in sorted(orphans - set(self.senders)):
            log.warning("outbox: pending actions for target %s, which is not configured; kept", target)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for target, sender in self.senders.items():
                    nursery.start_soon(self._target_group, target, sender)
                nursery.start_soon(self._pruner)
                task_status.started()
        finally:
            self._nursery = None

    async def _pruner(self) -> None:
        while True:

            def prune() -> int:
                return self.store.prune(self.wall(), self.keep_done, self.keep_dead)

            try:
                await self._db(prune)
            except sqlite3.Error as e:
                log.error("outbox: cannot prune the database (%s); trying again in an hour", e)
            await trio.sleep(3600)

    async def _target_group(self, target: str, sender: Sender) -> None:
        busy = self._busy[target]
        limit = max(1, sender.concurrency)
        trouble = _DbTrouble(f"outbox: target {target}", "look for due actions")
        async with trio.open_nursery() as nursery:
            while True:
                wake = self._wake[target] = trio.Event()
                now = self.wall()
                try:
                    if len(busy) < limit:
                        claimed, expired = await self._db(
                            self._claim, target, now, limit - len(busy), sorted(busy)
                        )
                        trouble.ok()
                        for a in expired:
                            self._report(
                                Report(a, "dead", a.last_error or "expired before it could be attempted")
                            )
                        for a, attachments in claimed:
                            busy.add(a.id)
                            nursery.start_soon(self._attempt, sender, a, attachments)
                        if claimed:  # not waited for: the deliveries are already under way
                            nursery.start_soon(self._count_attempts, [a for a, _ in claimed])
                        if expired:
                            continue
                    if len(busy) >= limit:
                        await wake.wait()  # a slot frees or a row arrives
                        continue
                    adds = self._adds[target]
                    due = await self._db(self.store.next_due, target, sorted(busy))
                    trouble.ok()
                except sqlite3.Error as e:
                    # a full or broken state disk: this target waits and tries again, nothing dies
                    await trio.sleep(trouble.failed(e))
                    continue
                wait = math.inf if due is None else max(0.0, due - self.wall())
                # idle only if no enqueue came while next_due looked (its row may not be there yet)
                self._idle[target] = sender.eager and due is None and not busy and adds == self._adds[target]
                with trio.move_on_after(wait):
                    await wake.wait()
                self._idle[target] = False

    async def _count_attempts(self, claimed: list[Action]) -> None:
        try:
            await self._db(self.store.count_attempts, claimed)
        except sqlite3.Error as e:  # the outcome's write counts it too
            log.debug("outbox: cannot count attempts yet: %s", e)

    def _claim(
        self, target: str, now: float, limit: int, busy: Sequence[int]
    ) -> tuple[list[tuple[Action, list[Attachment]]], list[Action]]:
        """claim_due, with each row's attachments read in the same worker-thread call: one hop
        less between an event and its delivery."""
        claimed, expired = self.store.claim_due(target, now, limit, busy)
        return [(a, self.store.attachments(a.id)) for a in claimed], expired

    async def _attempt(
        self,
        sender: Sender,
        action: Action,
        attachments: list[Attachment],
        committed: trio.Event | None = None,
        known: list[int] | None = None,
    ) -> None:
        """One delivery and its outcome. An eager one (`committed`) began while its row was being
        committed: the outcome waits for the row's id in `known` (none: the row could not be
        written, which its producer was told)."""
        taken = action.id  # in the target's busy set (an eager attempt's: a provisional id)
        try:
            error: str | None = None
            permanent = False
            limit = sender.timeout_for(action)
            try:
                with trio.fail_after(limit):
                    await sender.deliver(action, attachments)
            except DeliveryError as e:
                error, permanent = e.message, e.permanent
            except trio.TooSlowError:
                error = f"timed out after {limit:g}s"
            except Exception as e:
                error = safe_reason(e)
            if committed is not None:
                await committed.wait()
                if not known:
                    return
                action = dataclasses.replace(action, id=known[0])
            now = self.wall()
            if error is None:
                await self._record(
                    action, "its delivery", self.store.succeed, action.id, now, action.attempts
                )
                self._report(Report(action, "done"))
                return
            nxt = None if permanent else now + self.policy.delay(action.attempts - 1, self.rng())
            dead = await self._record(
                action, "a failed attempt", self.store.fail, action.id, error, now, nxt, action.attempts
            )
            self._report(Report(action, "dead" if dead else "retry", error, None if dead else nxt))
        finally:
            self._busy[action.target].discard(taken)
            self._wake[action.target].set()

    async def _record(self, action: Action, what: str, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Write an attempt's outcome: shielded, so a shutdown right after a delivery does not
        send it again at the next start; a database error is retried (the row stays claimed)."""
        trouble = _DbTrouble(
            f"outbox: action {action.id} ({action.kind} to {action.target})", f"record {what}"
        )
        while True:
            try:
                with trio.CancelScope(shield=True):
                    result = await self._db(fn, *args)
                trouble.ok()
                return result
            except sqlite3.Error as e:
                delay = trouble.failed(e)
            await trio.sleep(delay)  # not shielded: a shutdown ends the retries (the row stays pending)

    def _report(self, r: Report) -> None:
        a = r.action
        if r.state == "dead":
            log.warning(
                "outbox: action %d (%s to %s) is dead after %d attempt(s): %s",
                a.id,
                a.kind,
                a.target,
                a.attempts,
                r.error,
            )
        elif r.state == "retry":
            log.info(
                "outbox: action %d (%s to %s) attempt %d failed: %s; next in %.1fs",
                a.id,
                a.kind,
                a.target,
                a.attempts,
                r.error,
                (r.next_attempt or 0.0) - self.wall(),
            )
        else:
            log.debug("outbox: action %d (%s to %s) delivered", a.id, a.kind, a.target)
        if self.observer is not None:
            self.observer(r)


@asynccontextmanager
async def open_outbox(
    path: Path,
    senders: Mapping[str, Sender],
    *,
    policy: BackoffPolicy | None = None,
    wall: Callable[[], float] = time.time,
    rng: Callable[[], float] = random.random,
    observer: Callable[[Report], None] | None = None,
    max_bytes: int | None = None,
) -> AsyncIterator[Outbox]:
    """Open `path` (usually <state_dir>/outbox.sqlite) and deliver until the context exits."""
    store = await trio.to_thread.run_sync(OutboxStore, path)
    try:
        outbox = Outbox(
            store, senders, policy=policy, wall=wall, rng=rng, observer=observer, max_bytes=max_bytes
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(outbox.run)
            yield outbox
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(store.close)
