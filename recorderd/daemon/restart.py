"""The one restart helper: a stage's session, run afresh when a reload asks, ended in its own way.

A session is `async def session(restart: trio.Event, *, task_status)`. It signals readiness with
`task_status.started()`, runs, and when `restart` is set it finishes what it holds (the alarms
commit the event in hand, MQTT says `offline`, HTTP closes its listener) and returns; the helper
then starts a fresh one with the configuration of the moment (unless it was asked to `stop`). A
session that returns while no restart was asked for has ended for good (its input closed): the
helper returns too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import trio


class Session(Protocol):
    def __call__(self, restart: trio.Event, *, task_status: trio.TaskStatus[None]) -> Awaitable[None]: ...


class Restartable:
    def __init__(self, name: str, session: Session | Callable[..., Awaitable[None]]) -> None:
        self.name = name
        self._session = session
        self._restart = trio.Event()
        self._stopping = False

    def restart(self) -> None:
        """Ask the running session to finish and a fresh one to start."""
        self._restart.set()

    def stop(self) -> None:
        """Ask the running session to finish, and start no other: `run` then returns."""
        self._stopping = True
        self._restart.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        status: trio.TaskStatus[None] | None = task_status
        while True:
            restart = self._restart = trio.Event()
            async with trio.open_nursery() as nursery:
                await nursery.start(self._session, restart, name=f"{self.name} session")
                if status is not None:
                    status.started()
                    status = None
            if not restart.is_set() or self._stopping:
                return
