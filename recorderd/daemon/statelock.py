"""One daemon per state_dir: an exclusive lock, taken before anything else and held for the daemon's life.

Two daemons on one state_dir damage each other's data (the second's start-up recovery repairs and
renames the first one's open `.part` file; both write the index and the outbox), and `systemctl
start` beside a manual `recorderd run` is an easy mistake. So the daemon takes flock(2) on
`<state_dir>/recorderd.lock` before recovery, the index or the outbox. The kernel drops the lock
when the process ends, however it ends (kill -9 too), so a lock file left behind never blocks a
start. The file holds the holder's pid, for the second daemon's message. Commands that only read
(`recordings list`, `events`) take no lock: SQLite's WAL lets them read beside the daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from recorderd.core.errors import RecorderdError

LOCK_NAME = "recorderd.lock"


class StateDirUnusable(RecorderdError):
    """The state directory or its lock file cannot be created or opened (message says why)."""


class StateDirInUse(StateDirUnusable):
    """Another process holds the state directory's lock."""


def acquire(state_dir: Path) -> int:
    """The locked file's descriptor (closing it releases the lock); raises StateDirUnusable."""
    state_dir = Path(state_dir).absolute()
    path = state_dir / LOCK_NAME
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StateDirUnusable(f"state_dir {state_dir}: cannot create it: {e.strerror or e}") from None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise StateDirUnusable(f"state_dir {state_dir}: cannot open {path}: {e.strerror or e}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise StateDirInUse(
            f"state_dir {state_dir} is in use by {holder} (another recorderd?); "
            "stop it first, or give this one another state_dir"
        ) from None
    except OSError as e:
        os.close(fd)
        raise StateDirUnusable(f"state_dir {state_dir}: cannot lock {path}: {e.strerror or e}") from None
    # a full disk: the lock holds all the same, only a second daemon cannot name this one
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "another process"


@asynccontextmanager
async def hold_state_dir(state_dir: Path) -> AsyncIterator[Path]:
    """Hold `state_dir`'s lock while the context runs (in a worker thread: a hung filesystem)."""
    fd = await trio.to_thread.run_sync(acquire, state_dir)
    try:
        yield Path(state_dir).absolute() / LOCK_NAME
    finally:
        os.close(fd)
