"""Waiting in tests: on a change someone signals (`Changes`), else on a polled condition
(`wait_until`), always with a deadline; a missed deadline is an AssertionError naming what was awaited."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

import trio

Predicate = Callable[[], bool | Awaitable[bool]]


async def _holds(pred: Predicate) -> bool:
    got = pred()
    return await got if inspect.isawaitable(got) else got


async def wait_until(pred: Predicate, timeout: float = 10.0, what: str = "", step: float = 0.01) -> None:
    """Until `pred()` holds, for a condition nobody signals (another thread's, a file's, a row's):
    checked every `step` seconds. `pred` may be async (e.g. a query run in a worker thread)."""
    with trio.move_on_after(timeout):
        while not await _holds(pred):
            await trio.sleep(step)
        return
    raise AssertionError(f"timed out after {timeout}s waiting for {what or pred}")


class Changes:
    """A change signal for state the test's own trio tasks update: `notify()` after each change;
    `until(pred)` re-checks on every change, never on a timer."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = trio.Event()

    async def until(self, pred: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
        with trio.move_on_after(timeout):
            while not pred():
                await self._event.wait()
            return
        raise AssertionError(f"timed out after {timeout}s waiting for {what or pred}")
