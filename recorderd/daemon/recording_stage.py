"""The recording stage: the recorder service (recovery first, retention, one recorder per camera) and
the inlet each camera sends its frames to.

The service starts when the config records anything (at start, or at the reload that first asks
for it). Leaving the context closes every inlet: each recorder works off its queue and finishes
its file (Duration, Cues, rename, index row) before the context is left.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from recorderd.config.model import Config
from recorderd.core.clock import Clock
from recorderd.recording.frames import RecorderSink
from recorderd.recording.index import Index
from recorderd.recording.recorder import RecordingService

log = logging.getLogger("recorderd.daemon")


def needs_recording(cfg: Config) -> bool:
    return any(c.record.mode != "off" for c in cfg.cameras.values() if c.enabled)


class RecordingStage:
    def __init__(self, config: Callable[[], Config], index: Index, clock: Clock) -> None:
        self._config = config
        self._index = index
        self._clock = clock
        self.service: RecordingService | None = None
        self._inlets: dict[str, RecorderSink] = {}
        self._nursery: trio.Nursery | None = None

    @property
    def inlets(self) -> Mapping[str, RecorderSink]:
        """Each camera's open inlet (the watchdog watches their queues)."""
        return self._inlets

    async def ensure(self) -> None:
        """Start the service if the config records anything and it is not running yet."""
        cfg = self._config()
        if self.service is not None:
            self.service.cfg = cfg
            self.service.storage.cfg = cfg.storage
            return
        if not needs_recording(cfg) or self._nursery is None:
            return
        service = RecordingService(cfg, self._index, clock=self._clock)
        await self._nursery.start(service.run)  # recovery of unfinished files first
        self.service = service

    def inlet_for(self, camera: str) -> RecorderSink | None:
        inlet = self.service.recorder_for(camera) if self.service is not None else None
        if inlet is not None:
            self._inlets[camera] = inlet
        return inlet

    def close_inlet(self, camera: str) -> None:
        """A camera stopped (reload): its recorder finishes the file; a restarted camera gets a new one."""
        inlet = self._inlets.pop(camera, None)
        if inlet is not None:
            inlet.close()

    async def finish(self) -> None:
        """Close every inlet and wait until each recorder has finished its file."""
        for inlet in self._inlets.values():
            inlet.close()  # each recorder works off its queue, then finishes its file
        self._inlets.clear()
        if self.service is not None:
            log.info("stopping: recorders")
            for rec in list(self.service.recorders.values()):
                await rec.done.wait()

    def status(self) -> dict[str, Any] | None:
        return self.service.status() if self.service is not None else None

    def active_sizes(self) -> Mapping[Path, int]:
        """The files being written and their sizes so far (the index counts the finished ones)."""
        return dict(self.service.storage.active) if self.service is not None else {}


@asynccontextmanager
async def open_recording(
    config: Callable[[], Config], index: Index, clock: Clock
) -> AsyncIterator[RecordingStage]:
    stage = RecordingStage(config, index, clock)
    async with trio.open_nursery() as nursery:
        stage._nursery = nursery
        await stage.ensure()
        try:
            yield stage
            await stage.finish()
        finally:
            stage._nursery = None
            nursery.cancel_scope.cancel()
