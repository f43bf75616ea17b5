"""A camera's own clock: how far it is off from this host's, and the zone it says it keeps.

Read after every connect and every few hours (`CLOCK_EVERY`) through the dialect's time CGI
(the registry's `clock`; the driver parses the answer). The skew is the camera's time minus this
host's at the middle of the request; the time CGIs print whole seconds, so half a second is added
to the camera's reading and the skew is good to about half a second plus half the round trip.
Where the camera tells its zone (IPCamCGI, Foscam, MOVE), schedules read from it are followed in
that zone; where it does not (Open API, VAPIX), its local time is read in the camera's configured
zone, so a wrong zone shows as a skew of whole hours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from recorderd.core.ratelog import RateLimitedLog

log = logging.getLogger("recorderd.cameras")

CLOCK_EVERY = 3 * 3600.0  # seconds between readings while connected
WARN_SKEW = 5.0  # seconds: a camera clock further off than this is logged as a warning
# bound: one key per camera (a few hundred at most); the least recently used goes first
_FAILED = RateLimitedLog(log, every=3600.0, max_keys=4096)


@dataclass(frozen=True, slots=True)
class ClockReading:
    """What a camera said: its time (aware, or naive local when it tells no zone) and its zone."""

    time: datetime
    zone: tzinfo | None = None


def fixed_zone(offset_s: int) -> tzinfo:
    """A zone of a fixed offset, named as cameras show it (UTC+05:30)."""
    return UTC if offset_s == 0 else timezone(timedelta(seconds=offset_s))


class CameraClock:
    """The last reading of one camera's clock, for the status, the metrics and its schedules."""

    def __init__(self, camera: str) -> None:
        self.camera = camera
        self.skew: float | None = None  # seconds, + when the camera is ahead
        self.zone: tzinfo | None = None  # as the camera tells it
        self.read_at: datetime | None = None  # this host's time of the last reading
        self.error = ""
        self._warned: float | None = None  # the skew last warned about

    def update(self, reading: ClockReading, assumed: tzinfo, sent: float, answered: float) -> None:
        """Take a reading made between the wall times `sent` and `answered` (UNIX seconds).

        A reading without a zone is the camera's local time in `assumed` (its configured zone).
        """
        at = reading.time if reading.time.tzinfo is not None else reading.time.replace(tzinfo=assumed)
        mid = (sent + answered) / 2
        self.skew = round(at.timestamp() + 0.5 - mid, 1)
        self.zone = reading.zone
        self.read_at = datetime.fromtimestamp(answered, UTC)
        self.error = ""
        _FAILED.clear(self.camera)
        off = abs(self.skew) > WARN_SKEW
        if off and (self._warned is None or abs(self.skew - self._warned) > WARN_SKEW):
            log.warning(
                "%s: camera clock is %s %s this host's%s",
                self.camera,
                _seconds(abs(self.skew)),
                "ahead of" if self.skew > 0 else "behind",
                "" if reading.zone is not None else f" (its local time read in {_zone_name(assumed)})",
            )
            self._warned = self.skew
        elif not off:
            self._warned = None

    def failed(self, reason: str) -> None:
        self.error = reason
        _FAILED.log(self.camera, logging.INFO, "%s: cannot read the camera's clock: %s", self.camera, reason)

    def status(self) -> dict[str, Any]:
        return {
            "skew": self.skew,
            "zone": _zone_name(self.zone) if self.zone is not None else None,
            "read": self.read_at.isoformat(timespec="seconds") if self.read_at else None,
            "error": self.error,
        }


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def _seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 120:
        return f"{s / 60:.1f} min"
    return f"{s:.1f} s"
