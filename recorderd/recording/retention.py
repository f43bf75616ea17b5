"""Retention: which recordings to delete (a pure plan), and the Storage service that deletes them.

Rules, oldest first (by start): older than max_age; while recordings use more than max_usage (a
share of the filesystem or a size); while the filesystem has less than min_free; and, after a write
failed for a full disk (ENOSPC), until `need` bytes are freed. Never a file still being written
(an index row without end, or a path a recorder holds open).
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trio

from recorderd.config.model import StorageConfig
from recorderd.recording.index import Index, RecordingRow
from recorderd.recording.layout import fsync_dir

log = logging.getLogger("recorderd.recording")

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
URGENT_SHARE = 0.02  # on ENOSPC free this share of the filesystem at least ...
URGENT_MAX = 256 * 1024**2  # ... but no more than this (the periodic rules do the rest)


def is_disk_full(e: BaseException) -> bool:
    """ENOSPC/EDQUOT, or SQLite's 'database or disk is full'."""
    if isinstance(e, OSError):
        return e.errno in FULL_ERRNOS
    return "disk is full" in str(e) or "database or disk is full" in str(e)


@dataclass(frozen=True, slots=True)
class FsState:
    total: int
    free: int


def state_files_bytes(state_dir: Path) -> int:
    """Bytes of the SQLite files directly in the state directory (index, outbox, WAL, SHM)."""
    total = 0
    try:
        for entry in os.scandir(state_dir):
            if ".sqlite" in entry.name and entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    except OSError:
        return 0
    return total


def fs_state(path: Path) -> FsState:
    st = os.statvfs(path)
    return FsState(total=st.f_blocks * st.f_frsize, free=st.f_bavail * st.f_frsize)


def plan(
    rows: Sequence[RecordingRow],
    *,
    now: float,
    fs: FsState,
    cfg: StorageConfig,
    protected: Collection[Path] = (),
    extra_used: int = 0,
    need: int = 0,
) -> list[RecordingRow]:
    """The recordings to delete, oldest first. `extra_used`: bytes of the `protected` files (being
    written; their rows, if any, are not counted)."""
    used = sum(r.bytes for r in rows if r.path not in protected) + extra_used
    limit = cfg.max_usage.limit(fs.total)
    free = fs.free
    freed = 0
    max_age = cfg.max_age
    out = []
    for r in sorted(rows, key=lambda r: (r.start.timestamp(), r.id)):
        if r.end is None or r.path in protected:
            continue
        too_old = max_age is not None and r.end.timestamp() < now - max_age
        if too_old or used > limit or free < cfg.min_free or freed < need:
            out.append(r)
            used -= r.bytes
            free += r.bytes
            freed += r.bytes
    return out


class Storage:
    """Deletes recordings by `plan`: periodically (`run`) and at once on a full disk (`prune`)."""

    def __init__(self, index: Index, cfg: StorageConfig, root: Path) -> None:
        self.index = index
        self.cfg = cfg
        self.root = root
        self.active: dict[Path, int] = {}  # files being written -> their size so far
        self.deleted = 0
        self.freed = 0
        # files deleted whose index row could not go yet (a full disk): not counted as used again
        self._unindexed: set[Path] = set()
        self._lock = trio.Lock()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            try:
                await self.prune()
            except OSError as e:
                log.error("retention: %s", e.strerror or e)
            except sqlite3.Error as e:  # the index is on the same disk; next round tries again
                log.error("retention: index: %s", e)
            await trio.sleep(self.cfg.check_interval)

    async def prune(self, urgent: bool = False) -> int:
        """Delete what the rules say; `urgent` (a write hit a full disk): also the oldest files until
        URGENT_SHARE of the filesystem (at most URGENT_MAX) is freed. Returns bytes freed."""
        async with self._lock:
            # a snapshot: the recorders update `active` from the trio thread meanwhile
            return await trio.to_thread.run_sync(self.prune_sync, urgent, dict(self.active))

    def prune_sync(self, urgent: bool = False, active: Mapping[Path, int] | None = None) -> int:
        active = dict(self.active) if active is None else active
        self.root.mkdir(parents=True, exist_ok=True)
        self._drop_rows()
        rows = [r for r in self.index.list_recordings() if r.path not in self._unindexed]
        fs = fs_state(self.root)
        need = min(URGENT_MAX, int(fs.total * URGENT_SHARE)) if urgent else 0
        doomed = plan(
            rows,
            now=datetime.now(UTC).timestamp(),
            fs=fs,
            cfg=self.cfg,
            protected=set(active),
            # the databases beside the recordings (index, outbox, their WAL) count as used too
            extra_used=sum(active.values()) + state_files_bytes(self.index.state_dir),
            need=need,
        )
        freed = 0
        dirs: set[Path] = set()
        for r in doomed:
            try:
                size = r.path.stat().st_size
                r.path.unlink()
            except FileNotFoundError:
                size = 0
            dirs.add(r.path.parent)
            freed += size
            # file first, then the row: a crash between leaves a row whose file vanished,
            # which start-up recovery drops (and so does the next prune: its unlink finds nothing)
            try:
                self.index.remove_recording(r.path)
            except sqlite3.OperationalError:  # a full disk: SQLite needs room even to delete
                self._unindexed.add(r.path)  # tried again below, once more files are gone
            log.info("retention: deleted %s (%d bytes)", r.path, size)
        self._drop_rows()
        for d in dirs:
            if d.exists():
                fsync_dir(d)
            self._remove_if_empty_and_old(d)
        self.deleted += len(doomed)
        self.freed += freed
        return freed

    def _drop_rows(self) -> None:
        """The index rows of files deleted earlier, whose removal a full disk refused."""
        for path in sorted(self._unindexed):
            try:
                self.index.remove_recording(path)
            except sqlite3.OperationalError as e:
                log.warning("retention: %s deleted, its index row stays until the next round: %s", path, e)
                return
            self._unindexed.discard(path)

    def _remove_if_empty_and_old(self, day: Path) -> None:
        # only days before yesterday (UTC): a recorder may be creating today's directory right now
        if day.name >= f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}":
            return
        try:
            day.rmdir()
            fsync_dir(day.parent)
        except OSError:
            pass
