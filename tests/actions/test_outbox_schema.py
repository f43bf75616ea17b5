"""The outbox database's version (PRAGMA user_version): old files stamped, steps run once, newer refused."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import trio

from recorderd.actions.outbox import (
    SCHEMA_VERSION,
    Action,
    Attachment,
    FixedTimeoutSender,
    OutboxStore,
    OutboxUnavailable,
    migrate,
    open_outbox,
)

# The layout every outbox had before it was versioned, as those recorderd versions wrote it (a copy,
# so that this test keeps checking such files whatever becomes of the module's SCHEMA).
UNVERSIONED = """
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


def user_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def unversioned_outbox(path: Path, snapshot: Path) -> None:
    """An outbox as an unversioned recorderd left it: two pending rows (one retried once already,
    with a JPEG blob and a file path attached), one done."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(UNVERSIONED)
    rows = [
        ("t", "http", '{"events":[1]}', 100.0, 0, 100.0, 4e9, "pending", None),
        ("t", "email", '{"events":[2]}', 101.0, 1, 102.0, 4e9, "pending", "server said no"),
        ("t", "http", '{"events":[3]}', 99.0, 1, 99.0, 4e9, "done", None),
    ]
    db.executemany(
        "INSERT INTO actions (target, kind, payload, created, attempts, next_attempt, expires, state,"
        " last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.executemany(
        "INSERT INTO attachments (action_id, seq, name, path, data) VALUES (?, ?, ?, ?, ?)",
        [(2, 0, "a.jpg", None, b"\xff\xd8blob"), (2, 1, "b.jpg", str(snapshot), None)],
    )
    db.execute("INSERT INTO pacing (key, last) VALUES ('mail/front', 102.0)")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    db.close()


class Collect(FixedTimeoutSender):
    """Records each delivery; `done` is set once `want` actions were delivered."""

    concurrency = 1
    timeout = 5.0

    def __init__(self, want: int) -> None:
        self.want = want
        self.delivered: list[tuple[int, str, dict[str, object], int, list[Attachment]]] = []
        self.done = trio.Event()

    async def deliver(self, action: Action, attachments: Sequence[Attachment]) -> None:
        got = [Attachment(a.name, a.read()) for a in attachments]
        self.delivered.append((action.id, action.kind, action.payload, action.attempts, got))
        if len(self.delivered) == self.want:
            self.done.set()


async def test_an_unversioned_outbox_is_stamped_and_delivers_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    snapshot = tmp_path / "b.jpg"
    snapshot.write_bytes(b"\xff\xd8file")
    unversioned_outbox(path, snapshot)
    sender = Collect(2)
    async with open_outbox(path, {"t": sender}) as ob:
        assert user_version(path) == SCHEMA_VERSION  # stamped on open, before anything is sent
        with trio.fail_after(5):
            await sender.done.wait()
        assert (await ob.status()).counts == {"t": {"done": 3}}
    assert sorted(sender.delivered) == [
        (1, "http", {"events": [1]}, 1, []),
        (2, "email", {"events": [2]}, 2, [Attachment("a.jpg", b"\xff\xd8blob"), Attachment("b.jpg", b"\xff\xd8file")]),
    ]  # fmt: skip
    assert user_version(path) == SCHEMA_VERSION


def test_a_fresh_outbox_gets_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.sqlite"
    store = OutboxStore(path)
    aid = store.add("t", "http", {"events": []}, [Attachment("x", b"1")], now=1.0, expires=2.0)
    store.close()
    assert user_version(path) == SCHEMA_VERSION
    store = OutboxStore(path)  # opened again: the same rows, nothing migrated
    assert store.attachments(aid) == [Attachment("x", b"1")]
    store.close()
    assert user_version(path) == SCHEMA_VERSION


def test_a_newer_outbox_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    OutboxStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.execute("ALTER TABLE actions ADD COLUMN priority INTEGER")  # what that newer version added
    db.close()
    before = path.read_bytes()
    with pytest.raises(OutboxUnavailable) as e:
        OutboxStore(path)
    assert str(e.value) == (
        f"{path}: outbox schema {SCHEMA_VERSION + 1} is newer than this recorderd ({SCHEMA_VERSION}); "
        "run the newer recorderd, or move the file away (its pending actions are then not sent)"
    )
    assert path.read_bytes() == before and user_version(path) == SCHEMA_VERSION + 1


def test_the_daemon_reports_a_newer_outbox_in_one_line(tmp_path: Path) -> None:
    """`recorderd run`: the refusal is one error line and exit status 1, no traceback."""
    state = tmp_path / "state"
    state.mkdir()
    db = sqlite3.connect(state / "outbox.sqlite")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    cfg = tmp_path / "recorderd.toml"
    cfg.write_text(
        f'[daemon]\nstate_dir = "{state}"\nhttp_listen = ""\n\n'
        '[targets.hook]\nkind = "http"\nurl = "http://127.0.0.1:9/hook"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "recorderd", "run", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{state / 'outbox.sqlite'}: outbox schema {SCHEMA_VERSION + 1} is newer than this" in proc.stderr


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    return db


STEP = (
    "ALTER TABLE actions ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;\n"
    "INSERT INTO counters (key, value) VALUES ('step ran', 1)\n"
    "    ON CONFLICT (key) DO UPDATE SET value = value + 1;"
)


def test_a_migration_step_runs_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    store = OutboxStore(path)
    aid = store.add("t", "http", {"events": [1]}, [Attachment("x", b"1")], now=1.0, expires=2.0)
    store.close()
    for expect_old in (1, 2, 2):  # a version-1 file, then opened again twice
        db = connect(path)
        assert migrate(db, path, [STEP]) == expect_old
        db.close()
    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert db.execute("SELECT value FROM counters WHERE key = 'step ran'").fetchone()[0] == 1
    assert [tuple(r) for r in db.execute("SELECT id, payload, priority FROM actions")] == [
        (aid, '{"events":[1]}', 0)
    ]
    db.close()
    with pytest.raises(OutboxUnavailable, match="outbox schema 2 is newer than this recorderd"):
        OutboxStore(path)  # this recorderd knows no step: the file is newer than it


def test_an_unversioned_outbox_takes_every_step(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    unversioned_outbox(path, tmp_path / "b.jpg")
    db = connect(path)
    assert migrate(db, path, [STEP]) == 0
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert [tuple(r) for r in db.execute("SELECT id, priority FROM actions")] == [(1, 0), (2, 0), (3, 0)]
    db.close()


def test_a_failed_step_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    """All steps and the new version go in in one transaction: none of it, or all."""
    path = tmp_path / "outbox.sqlite"
    OutboxStore(path).close()
    db = connect(path)
    with pytest.raises(sqlite3.OperationalError, match="no such table: nowhere"):
        migrate(db, path, [STEP, "INSERT INTO nowhere VALUES (1)"])
    assert not db.in_transaction
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "priority" not in [r["name"] for r in db.execute("PRAGMA table_info(actions)")]
    assert db.execute("SELECT COUNT(*) FROM counters").fetchone()[0] == 0
    db.close()


def test_a_damaged_outbox_is_reported_not_raised_raw(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxUnavailable, match=f"{path}: cannot open the outbox: file is not a database"):
        OutboxStore(path)
