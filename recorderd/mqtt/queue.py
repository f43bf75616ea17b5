"""The publish queue: the bookkeeping of outgoing publications, sans-IO (after h11).

No trio, no sockets, no clock. The supervisor (client.py) tells it what happened (a publication
requested or withdrawn, a connection made with the broker's Receive Maximum, an item handed to the
protocol engine under a message id, an acknowledgement of a message id, the connection lost, the
client closed) and acts on what it returns: the next item to hand over, and finished items.

The rules:

- one FIFO: items are handed over in the order of `publish()` calls. `front=True` puts an item
  ahead of every item never handed over (the birth message after a connect), not ahead of resends.
- at most `window` QoS>0 items are unacknowledged on a connection: `max_inflight`, lowered to the
  broker's MQTT 5 Receive Maximum.
- an item handed over but not acknowledged when its connection is lost is handed over again on the
  next connection, before anything newer, in the original order. So the order on the wire is the
  order of `publish()` calls across outages, and a QoS>0 item finishes only once the broker
  acknowledged it (PUBACK/PUBCOMP), however many connections that takes. At least once: a
  receiver may see an item twice, never out of order.
- QoS 0 finishes when handed over, and is not sent again.
- an item can be withdrawn only while it was never handed over; after that it is delivered.
- `close()` finishes everything still open as "closed"; later publications finish so at once.

Items are compared by identity (give their class `eq=False`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar


class Item(Protocol):
    @property
    def qos(self) -> int: ...


P = TypeVar("P", bound=Item)

# acked: the broker acknowledged it (QoS 0: handed over); rejected: it answered with a failure
# reason code (MQTT 5); unsendable: the engine would not take it (bad topic, too large)
Outcome = Literal["acked", "rejected", "unsendable", "closed"]


@dataclass(frozen=True)
class Finished(Generic[P]):
    item: P
    outcome: Outcome
    reason: str = ""


class PublishQueue(Generic[P]):
    def __init__(self, max_inflight: int) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        self.max_inflight = max_inflight
        self.window = 0  # 0 while disconnected: nothing is handed over
        self._pending: deque[P] = deque()  # never handed over
        self._resend: deque[P] = deque()  # handed over on a lost connection, not acknowledged
        self._inflight: dict[int, P] = {}  # mid -> item, on this connection, in hand-over order
        self._handing: P | None = None  # returned by next_to_send(), awaiting sent()/not_sent()
        self._connected = False
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def in_flight(self) -> int:
        """Items awaiting their acknowledgement on this connection."""
        return len(self._inflight)

    def __len__(self) -> int:
        """Items not finished yet."""
        return len(self._pending) + len(self._resend) + len(self._inflight) + (self._handing is not None)

    # -- events ------------------------------------------------------------------------------

    def publish(self, item: P, *, front: bool = False) -> Finished[P] | None:
        """Queue `item` behind every earlier one (`front`: ahead of those never handed over)."""
        if self._closed:
            return Finished(item, "closed")
        if front:
            self._pending.appendleft(item)
        else:
            self._pending.append(item)
        return None

    def withdraw(self, item: P) -> bool:
        """Take back an item never handed over (nobody waits for it any more): True if it was."""
        for i, queued in enumerate(self._pending):
            if queued is item:
                del self._pending[i]
                return True
        return False

    def connection_made(self, receive_maximum: int | None = None) -> None:
        self._check_idle()
        if self._connected or self._closed:
            raise RuntimeError("connection_made() while connected or closed")
        self._connected = True
        self.window = min(self.max_inflight, receive_maximum) if receive_maximum else self.max_inflight

    def connection_lost(self) -> None:
        """Whatever was not acknowledged goes out again first on the next connection."""
        self._check_idle()
        if not self._connected:
            return
        self._connected = False
        self.window = 0
        # handed over in FIFO order, and only once _resend was empty or from its front: still FIFO
        self._resend.extendleft(reversed(self._inflight.values()))
        self._inflight.clear()

    def acked(self, mid: int, reason: str | None = None) -> Finished[P] | None:
        """PUBACK/PUBCOMP for `mid`; `reason`: the broker's failure reason code, if any."""
        item = self._inflight.pop(mid, None)
        if item is None:
            return None  # not ours on this connection (a late duplicate)
        return Finished(item, "acked") if reason is None else Finished(item, "rejected", reason)

    def close(self) -> list[Finished[P]]:
        self._check_idle()
        self._closed = True
        self._connected = False
        self.window = 0
        items = [*self._inflight.values(), *self._resend, *self._pending]
        self._inflight.clear()
        self._resend.clear()
        self._pending.clear()
        return [Finished(item, "closed") for item in items]

    # -- what to do --------------------------------------------------------------------------

    def next_to_send(self) -> P | None:
        """The item to hand to the engine now, if any; report the result with sent()/not_sent()."""
        self._check_idle()
        if not self._connected or len(self._inflight) >= self.window:
            return None
        if self._resend:
            self._handing = self._resend.popleft()
        elif self._pending:
            self._handing = self._pending.popleft()
        return self._handing

    def sent(self, item: P, mid: int) -> Finished[P] | None:
        """The engine took `item` as message `mid`; QoS 0 is finished by that."""
        self._take(item)
        if item.qos == 0:
            return Finished(item, "acked")
        if mid in self._inflight:
            raise RuntimeError(f"message id {mid} is already awaiting its acknowledgement")
        self._inflight[mid] = item
        return None

    def not_sent(self, item: P, reason: str) -> Finished[P]:
        """The engine refused `item` (no retry can help)."""
        self._take(item)
        return Finished(item, "unsendable", reason)

    def _take(self, item: P) -> None:
        if item is not self._handing:
            raise RuntimeError("sent()/not_sent() must report the item next_to_send() returned")
        self._handing = None

    def _check_idle(self) -> None:
        # next_to_send() and sent() are one synchronous step for the caller
        if self._handing is not None:
            raise RuntimeError("the item from next_to_send() was not reported yet")
