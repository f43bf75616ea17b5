"""Many small blocking calls, one worker-thread hop: the recorders' cluster writes.

Every camera writes one cluster a second. Handing each write to a worker thread on its own costs
a thread wake-up, a GIL hand-over and a trip back into trio for each: on a small VM a sizeable
share of what a frame costs (docs/performance.md has the figures). A ThreadBatch collects the
calls that come together (queued while the batch lets the other woken tasks run, or within
`window` seconds where one is given) and runs them one after another in a single worker-thread
call; each caller gets its own result or exception back, in the order it called.

    batch = ThreadBatch()
    nursery.start_soon(batch.run)
    n = await batch.run_sync(os.write, fd, data)   # like trio.to_thread.run_sync

A call is never lost: calls queued when `run` ends are carried out there (shielded), and a call
made after it ended (or before it started) goes to a worker thread of its own.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any, TypeVar

import outcome
import trio

_T = TypeVar("_T")

GROUP = 16  # calls per worker-thread hop, at most: the callers woken at once when it returns


class _Call:
    __slots__ = ("args", "done", "fn", "result")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.done = trio.Event()
        self.result: outcome.Outcome[Any] | None = None


def _run_all(calls: list[_Call]) -> None:
    for c in calls:
        c.result = outcome.capture(c.fn, *c.args)


class ThreadBatch:
    def __init__(self, window: float | None = None, rounds: int = 3, group: int = GROUP) -> None:
        self.window = window  # None: no timer, `rounds` checkpoints (the camera reads of one
        self.rounds = rounds  # ReadMux pass wake the recorders together)
        self.group = group
        self.hops = 0  # worker-thread calls made (for benchmarks)
        self.calls = 0
        self._queue: list[_Call] = []
        self._wake = trio.Event()
        self._running = False

    async def run_sync(self, fn: Callable[..., _T], *args: Any) -> _T:
        """fn(*args) in a worker thread, together with the other calls of the same window.
        Not cancellable once queued (as trio.to_thread.run_sync): the call runs either way."""
        if not self._running:
            return await trio.to_thread.run_sync(fn, *args)
        call = _Call(fn, args)
        self._queue.append(call)
        self._wake.set()
        with trio.CancelScope(shield=True):
            await call.done.wait()
        assert call.result is not None
        result: _T = call.result.unwrap()
        return result

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._running = True
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                # let the other recorders woken with this one queue their calls too: a few
                # checkpoints rather than a timer wake-up, which costs what tens of frames do
                if self.window is None:
                    for _ in range(self.rounds):
                        await trio.lowlevel.checkpoint()
                else:
                    await trio.sleep(self.window)
                await self._flush()
        finally:
            self._running = False
            with trio.CancelScope(shield=True):
                while self._queue:
                    await self._flush()

    async def _flush(self) -> None:
        calls, self._queue = self._queue, []
        self._wake = trio.Event()
        # in groups: the callers of a group go on (in the trio thread) while the next group is
        # written, and never hundreds of them at once, which would hold up an alarm's way
        for i in range(0, len(calls), self.group):
            await self._hop(calls[i : i + self.group])

    async def _hop(self, calls: list[_Call]) -> None:
        if not calls:
            return
        self.hops += 1
        self.calls += len(calls)
        try:
            # shielded: a stop arriving now must not skip calls already taken off the queue (the
            # callers' muxers have counted their clusters as written)
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(_run_all, calls)
        finally:
            for c in calls:
                if c.result is None:  # no worker thread could be started: each caller gets to know
                    c.result = outcome.Error(OSError(errno.EAGAIN, "no worker thread for the write"))
                c.done.set()
