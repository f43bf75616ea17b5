"""A bridge from trio to a private asyncio event loop in a thread, for aiosmtplib and aioftp.

    async with open_asyncio_bridge() as bridge:
        result = await bridge.run(coro_fn, *args)

- `run` starts `coro_fn(*args)` as a task on the loop and waits for it; its result or exception
  comes back to the trio caller.
- Cancelling the trio caller cancels the asyncio task and waits until that task has finished
  unwinding (its `finally` blocks and `async with` exits ran), then re-raises trio's Cancelled.
- Leaving the context cancels whatever still runs on the loop, waits for it, stops the loop and
  joins the thread: nothing outlives the `async with`.

The done-callback of the asyncio task (not of a concurrent.futures.Future, which reports
"cancelled" at once, before the task has unwound) is what wakes the trio side.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar, TypeVarTuple

import outcome
import trio

from recorderd.core.errors import RecorderdError

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class BridgeClosed(RecorderdError, RuntimeError):
    """The bridge was closed before or while the call ran."""


class _Call(Generic[T]):
    """One call's state, shared by the trio caller and the loop thread."""

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        self.token = token
        self.done = trio.Event()
        self.result: outcome.Outcome[T] | None = None
        self.task: asyncio.Task[T] | None = None
        self.cancel_requested = False

    def finish(self, result: outcome.Outcome[T]) -> None:
        """Runs in the loop thread: hand the outcome to trio."""
        self.result = result
        self.token.run_sync_soon(self.done.set)


class AsyncioBridge:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._closed = False
        self._calls: set[_Call[Any]] = set()  # touched only in the loop thread

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    async def run(self, fn: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
        if self._closed:
            raise BridgeClosed("the asyncio bridge is closed")
        call: _Call[T] = _Call(trio.lowlevel.current_trio_token())

        def start() -> None:
            if self._closed:
                call.finish(outcome.Error(BridgeClosed("the asyncio bridge is closed")))
                return
            if call.cancel_requested:  # cancelled before it started: never run it
                call.finish(outcome.Error(BridgeClosed("cancelled before start")))
                return

            async def body() -> T:
                return await fn(*args)

            task = self._loop.create_task(body())
            call.task = task
            self._calls.add(call)

            def on_done(t: asyncio.Task[T]) -> None:
                self._calls.discard(call)
                if t.cancelled():
                    why = "cancelled" if call.cancel_requested else "the asyncio bridge was closed"
                    call.finish(outcome.Error(BridgeClosed(why)))
                elif (exc := t.exception()) is not None:
                    call.finish(outcome.Error(exc))
                else:
                    call.finish(outcome.Value(t.result()))

            task.add_done_callback(on_done)

        def cancel() -> None:
            call.cancel_requested = True
            if call.task is not None:
                call.task.cancel()

        self._loop.call_soon_threadsafe(start)
        try:
            await call.done.wait()
        finally:
            if not call.done.is_set():
                # Cancelled on the trio side: cancel the task and wait for it to unwind.
                self._loop.call_soon_threadsafe(cancel)
                with trio.CancelScope(shield=True):
                    await call.done.wait()
        assert call.result is not None
        return call.result.unwrap()


@asynccontextmanager
async def open_asyncio_bridge() -> AsyncIterator[AsyncioBridge]:
    loop = asyncio.new_event_loop()
    bridge = AsyncioBridge(loop)
    token = trio.lowlevel.current_trio_token()
    stopped = trio.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()
            token.run_sync_soon(stopped.set)

    thread = threading.Thread(target=main, name="recorderd-asyncio", daemon=True)
    thread.start()
    try:
        yield bridge
    finally:
        bridge._closed = True
        with trio.CancelScope(shield=True):

            async def shutdown() -> None:
                tasks = [c.task for c in list(bridge._calls) if c.task is not None]
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await loop.shutdown_asyncgens()
                loop.stop()

            keep: list[asyncio.Task[None]] = []  # the loop holds tasks weakly
            with contextlib.suppress(RuntimeError):  # the loop is closed: its thread has ended
                loop.call_soon_threadsafe(lambda: keep.append(loop.create_task(shutdown())))
            await stopped.wait()
            await trio.to_thread.run_sync(thread.join)
