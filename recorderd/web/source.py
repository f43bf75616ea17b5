"""What the daemon gives the web UI: a narrow view of itself, so this package knows no stages.

The daemon's `Endpoint` (recorderd/daemon/control.py) implements it; tests may give a stand-in.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

import trio

from recorderd.cameras.live import LiveFeed
from recorderd.config.model import Config
from recorderd.core.events import BusEvent
from recorderd.recording.index import Index


class UiSource(Protocol):
    def cameras(self) -> Collection[str]: ...
    def status(self) -> dict[str, Any]: ...
    def config(self) -> Config: ...
    def index(self) -> Index: ...
    async def snapshot(self, camera: str) -> bytes | None: ...
    def live(self, camera: str) -> LiveFeed: ...
    def subscribe(self, name: str, size: int) -> trio.MemoryReceiveChannel[BusEvent]:
        """A bus subscription of `size` events; closing the channel ends it."""
        ...
