"""Whether a camera is connected, told from its streams: one place decides, logs and publishes.

A camera is *connected* while every stream it opens is up, leaving out the streams it refused (a
204 motion stream, a CGI the camera does not have): those are reported on their own and never make
the camera flap. A camera none of whose streams is up is not connected.

The log says, once: the first line of a camera that never connected is the reason of its first
failed attempt; then a stream's failures at most once a minute with a count (a new reason at once);
"connected (video, io)" with the failed attempts before it; "disconnected: <why>"; a refusal once
until its reason changes. A stream that comes back while the camera is connected says "up again".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import trio

from recorderd.cameras.liveness import METHODS, REFUSED_RETRY
from recorderd.cameras.streams import STOPPED, StreamFailure, StreamSpec
from recorderd.cameras.streamstate import StreamState, iso
from recorderd.core.ratelog import RateLimitedLog
from recorderd.core.text import plural

if TYPE_CHECKING:
    from recorderd.cameras.camera import CameraStats
    from recorderd.core.clock import Clock

log = logging.getLogger("recorderd.cameras")

CameraState = Literal["connecting", "connected", "disconnected"]


def _after(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.1f}s"


class Connectivity:
    def __init__(
        self,
        camera: str,
        specs: list[StreamSpec],
        stats: CameraStats,
        clock: Clock,
        publish: Callable[[bool], None],
    ) -> None:
        self.camera = camera
        self.stats = stats
        self.clock = clock
        self._publish = publish
        self.streams = {s.name: StreamState(s.name, METHODS[s.liveness]) for s in specs}
        self.state: CameraState = "connecting"
        self.since = clock.wall()
        self.last_connected: float | None = None  # wall: when it was last connected (set at a loss)
        self._failed_since_up = 0
        self._refusals: dict[str, str] = {}  # stream -> the reason last logged
        # bound: one key per stream of this camera
        self._failures = RateLimitedLog(log, max_keys=max(1, len(specs)))

    # -- from the stream loops ----------------------------------------------------------------

    def connecting(self, spec: StreamSpec) -> None:
        st = self.streams[spec.name]
        st.attempts += 1
        st.retry_at = None
        if st.state != "refused":  # a refused stream asked again stays refused until it is up
            st.enter("connecting", self.clock.wall())

    def up(self, spec: StreamSpec) -> bool:
        """The stream delivered something valid. True when that made the camera connected."""
        st = self.streams[spec.name]
        wall = self.clock.wall()
        if st.ups:
            self.stats.reconnects += 1
        st.ups += 1
        was_refused = st.state == "refused"
        st.enter("up", wall)
        self._refusals.pop(spec.name, None)
        logged = self._failures.clear(spec.name)
        if self._update(wall, ""):
            return True
        if self.stats.connected and (logged or was_refused):
            log.info("%s: %s stream up again", self.camera, spec.name)
        return False

    def failed(self, spec: StreamSpec, f: StreamFailure) -> None:
        st = self.streams[spec.name]
        wall = self.clock.wall()
        st.failed(f.kind, f.message, wall)
        if f.was_up:
            st.last_success = wall
        st.retry_at = trio.current_time() + f.retry_in
        s = self.stats
        s.failures += 1
        s.last_error, s.last_error_at = f.message, wall
        if f.refused:
            st.enter("refused", wall)
            if self._refusals.get(spec.name) != f.message:
                self._refusals[spec.name] = f.message
                log.warning(
                    "%s: %s; asking again every %g min and at a reload",
                    self.camera,
                    f.message,
                    REFUSED_RETRY / 60,
                )
            self._update(wall, f.message)
            return
        st.enter("down", wall)
        self._refusals.pop(spec.name, None)
        self._failed_since_up += 1
        if self._update(wall, f"{f.message}; retrying in {_after(f.retry_in)}"):
            return
        self._failures.log(
            spec.name,
            logging.WARNING,
            "%s: %s; retrying in %s",
            self.camera,
            f.message,
            _after(f.retry_in),
            kind=f.kind,
        )

    def stopped(self, spec: StreamSpec) -> None:
        """The camera's tasks are cancelled (shutdown, reload)."""
        self.streams[spec.name].enter("down", self.clock.wall())
        self._update(self.clock.wall(), STOPPED)

    def unreadable(self, spec: StreamSpec) -> None:
        self.streams[spec.name].unreadable += 1

    # -- what it says ----------------------------------------------------------------------------

    def _update(self, wall: float, reason: str) -> bool:
        """Recompute `connected`; log and publish a change. True when it changed."""
        states = self.streams.values()
        live = [st for st in states if st.state != "refused"]
        connected = bool(live) and all(st.state == "up" for st in live)
        s = self.stats
        if connected == s.connected:
            return False
        s.connected = connected
        self.since = wall
        if connected:
            s.connects += 1
            self.state = "connected"
            names = ", ".join(st.name for st in live)
            refused = [st.name for st in states if st.state == "refused"]
            said = f"{names}; {', '.join(refused)} refused" if refused else names
            tries = self._failed_since_up
            more = f" after {plural(tries, 'failed attempt')}" if tries else ""
            log.info("%s: connected (%s)%s", self.camera, said, more)
            self._failed_since_up = 0
        else:
            self.state = "disconnected"
            self.last_connected = wall
            level = logging.INFO if reason == STOPPED else logging.WARNING
            log.log(level, "%s: disconnected: %s", self.camera, reason)
        self._publish(connected)
        return True

    def status(self) -> dict[str, Any]:
        now, wall = trio.current_time(), self.clock.wall()
        s = self.stats
        refused = bool(self.streams) and all(st.state == "refused" for st in self.streams.values())
        return {
            "state": "refused" if refused else self.state,  # connecting | connected | disconnected | refused
            "since": iso(self.since),
            "last_connected": iso(wall if s.connected else self.last_connected),
            "last_error": s.last_error,
            "last_error_at": iso(s.last_error_at),
            "failures": s.failures,
            "streams": {name: st.status(now, wall) for name, st in self.streams.items()},
        }
