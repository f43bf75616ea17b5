"""The systemd watchdog: ping only while the trio loop and the parts that must progress do progress.

A blocked loop stops the pinging by itself (the ping task cannot run). A stuck part (a recorder
whose disk hangs) is caught through its Heartbeat: it has work pending but has not beaten for longer
than its allowance, so we stop pinging and systemd restarts us, as WatchdogSec promises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from recorderd.service.notify import Notifier

log = logging.getLogger(__name__)


@dataclass
class Heartbeat:
    """A part's sign of life. `pending()` says whether it has work; idle parts never count as stuck."""

    name: str
    allowance: float
    pending: Callable[[], bool] = lambda: True
    last: float = field(default_factory=lambda: 0.0)

    def beat(self, now: float | None = None) -> None:
        self.last = trio.current_time() if now is None else now

    def stuck(self, now: float) -> bool:
        return self.pending() and now - self.last > self.allowance


class Watchdog:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.hearts: list[Heartbeat] = []
        self._reported: set[str] = set()

    def add(self, heart: Heartbeat) -> Heartbeat:
        heart.beat()
        self.hearts.append(heart)
        return heart

    def healthy(self, now: float | None = None) -> bool:
        t = trio.current_time() if now is None else now
        stuck = {h.name for h in self.hearts if h.stuck(t)}
        for name in stuck - self._reported:
            log.error("%s makes no progress: watchdog pings stop, the service manager will restart us", name)
        self._reported = stuck
        return not stuck

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        interval = self.notifier.watchdog_interval
        task_status.started()
        if interval is None:
            return
        while True:
            if self.healthy():
                self.notifier.watchdog()
            await trio.sleep(interval)
