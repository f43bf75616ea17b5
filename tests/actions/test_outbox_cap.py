"""The outbox has a size cap (snapshots go first, then the oldest rows), and retention counts the
databases beside the recordings."""

from __future__ import annotations

import os
from pathlib import Path

from recorderd.actions.outbox import Attachment, OutboxStore
from recorderd.recording.retention import state_files_bytes

JPEG = b"\xff\xd8" + os.urandom(50_000) + b"\xff\xd9"


def test_the_cap_drops_snapshots_first_then_the_oldest_rows(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "outbox.sqlite")
    try:
        for i in range(100):  # 5 MB of snapshots
            store.add("mail", "email", {"n": i}, [Attachment("a.jpg", JPEG)], now=1.0, expires=1e9)
        assert store.used_bytes() > 4_000_000
        blobs, dead = store.enforce_cap(1024 * 1024, now=2.0)
        assert store.used_bytes() <= 1024 * 1024 and blobs > 60 and dead == 0
        pending = sorted(store.by_state("pending", 1000), key=lambda a: a.id)
        assert len(pending) == 100  # every event still goes out
        assert store.attachments(pending[-1].id)  # the newest keep their snapshot
        assert not store.attachments(pending[0].id)
        for i in range(3000):
            store.add("mail", "email", {"n": i, "pad": "x" * 300}, [], now=3.0, expires=1e9)
        blobs, dead = store.enforce_cap(256 * 1024, now=4.0)
        assert store.used_bytes() <= 256 * 1024 and dead > 0
        rest = sorted(store.by_state("pending", 10_000), key=lambda a: a.id)
        assert rest and rest[-1].payload["n"] == 2999  # the newest stay
        assert store.enforce_cap(256 * 1024, now=5.0) == (0, 0)
    finally:
        store.close()


def test_retention_counts_the_databases(tmp_path: Path) -> None:
    (tmp_path / "index.sqlite3").write_bytes(b"x" * 1000)
    (tmp_path / "outbox.sqlite").write_bytes(b"x" * 500)
    (tmp_path / "outbox.sqlite-wal").write_bytes(b"x" * 20)
    (tmp_path / "recordings").mkdir()
    (tmp_path / "other.txt").write_bytes(b"x" * 7)
    assert state_files_bytes(tmp_path) == 1520
