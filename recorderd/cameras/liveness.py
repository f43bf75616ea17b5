"""How a stream's death is told from its silence, and how soon a stream is tried again.

Three methods, one per kind of stream (StreamSpec.liveness):
- "read deadline": video and audio must flow; no complete part within `read_timeout` ends the stream.
- "keepalive": event monitors may be quiet for hours (VAPIX §5.5.1.1, Open API §5.2, MOVE eventdata
  speak on change only). Silence is health; a dead peer (a camera unplugged, a network that drops
  everything without FIN or RST) is found by TCP keepalive, set on the stream's own socket: no reply
  to `count` probes sent `interval` apart after `idle` seconds of silence, and the kernel ends the
  connection (TCP_USER_TIMEOUT says the same for data left unacknowledged). Where the dialect has a
  state query, it is asked again every `resync_every` seconds, which also corrects an edge the
  monitor lost.
- "poll": every answer is a request with the read timeout (Foscam get_status.cgi).

Retries: failures back off with full jitter (recorderd.core.backoff), capped at `RECENT_CAP` for a
stream that was up in the last `RECENT` seconds (a camera back after an outage is found within a few
seconds) and at `RETRY_CAP` otherwise; wrong credentials at `AUTH_CAP` (cameras lock out clients that
keep guessing). A refusal (204 No Content, a 4xx that names the request, a body that is not a stream)
will not change by itself: it is asked again every `REFUSED_RETRY` and at a config reload.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import httpx

    from recorderd.cameras.streams import LivenessMethod

RETRY_BASE = 0.5
RETRY_CAP = 30.0
RECENT_CAP = 5.0
RECENT = 600.0
AUTH_CAP = 60.0
REFUSED_RETRY = 300.0

# what the status says for each StreamSpec.liveness
LivenessName = Literal["read deadline", "TCP keepalive", "poll"]
METHODS: dict[LivenessMethod, LivenessName] = {
    "deadline": "read deadline",
    "keepalive": "TCP keepalive",
    "poll": "poll",
}


@dataclass(frozen=True)
class Liveness:
    keepalive_idle: int = 5  # seconds of silence before the first probe
    keepalive_interval: int = 3  # seconds between probes
    keepalive_count: int = 3  # unanswered probes that end the connection
    resync_every: float = 30.0  # keepalive streams with a state query: ask it this often

    @property
    def dead_after(self) -> int:
        """Seconds of silence from a dead peer until its connection ends."""
        return self.keepalive_idle + self.keepalive_interval * self.keepalive_count


LIVENESS = Liveness()


def set_keepalive(resp: httpx.Response, live: Liveness) -> bool:
    """TCP keepalive on the socket of a streamed response (plain or TLS); False where the socket
    cannot be reached or the options do not exist (not Linux)."""
    stream = resp.extensions.get("network_stream")
    if stream is None:
        return False
    try:
        sock = stream.get_extra_info("socket")
    except (AssertionError, AttributeError):
        return False
    options = [
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPIDLE", None), live.keepalive_idle),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPINTVL", None), live.keepalive_interval),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPCNT", None), live.keepalive_count),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_USER_TIMEOUT", None), live.dead_after * 1000),
    ]
    done = False
    for level, name, value in options:
        if name is None:
            continue
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(level, name, value)
            done = True
    return done
