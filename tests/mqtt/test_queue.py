"""The publish queue on its own: no broker, no trio, no clock.

A property test drives it through any interleaving of publications, withdrawals, connects,
losses, hand-overs and (out of order, rejected, stale) acknowledgements, and checks the wire: the
order of first transmissions is the order of publish() calls, each connection sends in that
order (resends first), the window holds, nothing acknowledged goes out again, and in the end
every publication finishes exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from recorderd.mqtt.queue import Finished, PublishQueue


@dataclass(eq=False)
class Pub:
    n: int
    qos: int = 1
    bad: bool = False  # the engine refuses it


def drain(q: PublishQueue[Pub], first_mid: int = 1) -> list[tuple[Pub, int]]:
    """Hand over everything the queue allows; (item, mid) in hand-over order."""
    out: list[tuple[Pub, int]] = []
    mid = first_mid
    while (item := q.next_to_send()) is not None:
        assert q.sent(item, mid) is None or item.qos == 0
        out.append((item, mid))
        mid += 1
    return out


def test_window_and_fifo() -> None:
    q: PublishQueue[Pub] = PublishQueue(max_inflight=3)
    items = [Pub(i) for i in range(5)]
    for item in items:
        assert q.publish(item) is None
    assert q.next_to_send() is None  # not connected
    q.connection_made()
    sent = drain(q)
    assert [p.n for p, _ in sent] == [0, 1, 2]
    done = q.acked(sent[1][1])  # out of order: frees one slot
    assert done == Finished(items[1], "acked")
    assert [p.n for p, _ in drain(q, 10)] == [3]
    assert q.acked(999) is None  # not ours
    assert len(q) == 4 and q.in_flight == 3  # and item 4 waits


def test_resend_first_in_order_then_newer_and_birth_after_resends() -> None:
    q: PublishQueue[Pub] = PublishQueue(max_inflight=2)
    a, b, c, d = (Pub(i) for i in range(4))
    for item in (a, b, c):
        q.publish(item)
    q.connection_made()
    assert [p for p, _ in drain(q)] == [a, b]
    q.connection_lost()
    q.publish(d)
    assert q.next_to_send() is None
    q.connection_made()
    birth = Pub(-1)
    q.publish(birth, front=True)  # after the resends, before everything never sent
    first = drain(q)  # same mids again: a new engine numbers from 1
    assert [p for p, _ in first] == [a, b]
    q.acked(first[0][1])
    q.acked(first[1][1])
    assert [p for p, _ in drain(q, 3)] == [birth, c]


def test_lost_again_while_resending_keeps_the_order() -> None:
    q: PublishQueue[Pub] = PublishQueue(max_inflight=4)
    items = [Pub(i) for i in range(6)]
    for item in items:
        q.publish(item)
    q.connection_made()
    assert [p.n for p, _ in drain(q)] == [0, 1, 2, 3]
    q.connection_lost()
    q.connection_made(receive_maximum=2)
    assert [p.n for p, _ in drain(q)] == [0, 1]
    q.connection_lost()  # 2 and 3 were never resent; 0 and 1 were, again without PUBACK
    q.connection_made()
    assert [p.n for p, _ in drain(q)] == [0, 1, 2, 3]


def test_receive_maximum_lowers_the_window() -> None:
    q: PublishQueue[Pub] = PublishQueue(max_inflight=10)
    for i in range(5):
        q.publish(Pub(i))
    q.connection_made(receive_maximum=2)
    assert len(drain(q)) == 2
    q.connection_lost()
    q.connection_made(receive_maximum=None)
    assert len(drain(q)) == 5


def test_qos0_finishes_when_handed_over_and_does_not_hold_the_window() -> None:
    q: PublishQueue[Pub] = PublishQueue(max_inflight=1)
    zero, one, two = Pub(0, qos=0), Pub(1), Pub(2)
    for item in (zero, one, two):
        q.publish(item)
    q.connection_made()
    assert q.next_to_send() is zero
    assert q.sent(zero, 1) == Finished(zero, "acked")
    assert q.next_to_send() is one
    assert q.sent(one, 2) is None
    assert q.next_to_send() is None  # the window is one QoS 1 item


def test_rejected_unsendable_withdrawn_closed() -> None:
    q: PublishQueue[Pub] = PublishQueue(max_inflight=5)
    a, b, c, d = (Pub(i) for i in range(4))
    for item in (a, b, c, d):
        q.publish(item)
    assert q.withdraw(c)
    q.connection_made()
    assert q.next_to_send() is a
    assert q.not_sent(a, "bad topic") == Finished(a, "unsendable", "bad topic")
    assert q.next_to_send() is b
    q.sent(b, 7)
    assert not q.withdraw(b)  # handed over: it is delivered anyway
    assert q.acked(7, "Not authorized") == Finished(b, "rejected", "Not authorized")
    assert q.next_to_send() is d
    q.sent(d, 8)
    assert q.close() == [Finished(d, "closed")]
    assert q.publish(Pub(9)) is not None
    assert len(q) == 0


def test_misuse_is_loud() -> None:
    q: PublishQueue[Pub] = PublishQueue(max_inflight=5)
    q.publish(Pub(0))
    q.publish(Pub(1))
    q.connection_made()
    item = q.next_to_send()
    assert item is not None
    with pytest.raises(RuntimeError):
        q.next_to_send()  # the first one was not reported
    with pytest.raises(RuntimeError):
        q.sent(Pub(5), 1)
    q.sent(item, 1)
    nxt = q.next_to_send()
    assert nxt is not None
    with pytest.raises(RuntimeError):
        q.sent(nxt, 1)  # mid 1 still awaits its PUBACK
    with pytest.raises(ValueError):
        PublishQueue(0)


class Wire(RuleBasedStateMachine):
    """The queue against a model of the engine and the broker; the wire is what they saw."""

    def __init__(self) -> None:
        super().__init__()
        self.q: PublishQueue[Pub] = PublishQueue(max_inflight=4)
        self.published: list[Pub] = []
        self.withdrawn: set[int] = set()
        self.finished: dict[int, Finished[Pub]] = {}
        self.wire: list[tuple[int, int]] = []  # (connection, n)
        self.conn = 0
        self.next_mid = 1
        self.inflight: dict[int, Pub] = {}  # the broker's view of this connection

    def _finish(self, done: Finished[Pub] | None) -> None:
        if done is not None:
            assert done.item.n not in self.finished, "finished twice"
            self.finished[done.item.n] = done

    @rule(qos=st.sampled_from([0, 1, 1, 2]))
    def publish(self, qos: int) -> None:
        item = Pub(len(self.published), qos)
        self.published.append(item)
        self._finish(self.q.publish(item))

    @rule(bad_every=st.integers(min_value=2, max_value=7))
    def publish_bad(self, bad_every: int) -> None:
        item = Pub(len(self.published), 1, bad=len(self.published) % bad_every == 0)
        self.published.append(item)
        self._finish(self.q.publish(item))

    @rule(pick=st.integers(min_value=0))
    def withdraw(self, pick: int) -> None:
        if not self.published:
            return
        item = self.published[pick % len(self.published)]
        if self.q.withdraw(item):
            assert all(n != item.n for _, n in self.wire), "withdrawn after it was sent"
            self.withdrawn.add(item.n)

    @precondition(lambda self: not self.q.connected)
    @rule(receive_maximum=st.sampled_from([None, 1, 2, 10]))
    def connect(self, receive_maximum: int | None) -> None:
        self.conn += 1
        self.next_mid = 1  # a fresh engine per connection
        self.q.connection_made(receive_maximum)

    @rule()
    def lose(self) -> None:
        self.q.connection_lost()
        self.inflight.clear()

    @rule(k=st.integers(min_value=1, max_value=6))
    def pump(self, k: int) -> None:
        for _ in range(k):
            item = self.q.next_to_send()
            if item is None:
                return
            if item.bad:
                self._finish(self.q.not_sent(item, "bad"))
                continue
            assert item.n not in self.finished, "sent after it finished"
            mid, self.next_mid = self.next_mid, self.next_mid + 1
            self.wire.append((self.conn, item.n))
            if item.qos:
                self.inflight[mid] = item
            self._finish(self.q.sent(item, mid))

    @rule(pick=st.integers(min_value=0), reject=st.booleans())
    def ack(self, pick: int, reject: bool) -> None:
        if not self.inflight:
            return
        mid = sorted(self.inflight)[pick % len(self.inflight)]
        del self.inflight[mid]
        self._finish(self.q.acked(mid, "no" if reject else None))

    @rule(mid=st.integers(min_value=1, max_value=100))
    def stale_ack(self, mid: int) -> None:
        if mid not in self.inflight:
            assert self.q.acked(mid) is None

    @invariant()
    def window_holds(self) -> None:
        assert self.q.in_flight <= self.q.window
        assert self.q.in_flight == len(self.inflight)

    @invariant()
    def wire_order_is_call_order(self) -> None:
        first_seen = list(dict.fromkeys(n for _, n in self.wire))
        expected = [p.n for p in self.published if p.n not in self.withdrawn and not p.bad]
        assert first_seen == expected[: len(first_seen)]
        for conn in range(1, self.conn + 1):
            on_conn = [n for c, n in self.wire if c == conn]
            assert on_conn == sorted(on_conn) and len(set(on_conn)) == len(on_conn)

    @invariant()
    def resends_come_first(self) -> None:
        # on each connection, everything sent earlier comes before anything sent for the first time
        seen: set[int] = set()
        for conn in range(1, self.conn + 1):
            on_conn = [n for c, n in self.wire if c == conn]
            again = [n in seen for n in on_conn]
            assert again == sorted(again, reverse=True)
            seen.update(on_conn)

    def teardown(self) -> None:
        # a broker that stays up and acknowledges everything: all of it finishes, exactly once
        if not self.q.connected:
            self.connect(None)
        for _ in range(len(self.published) + 1):  # each round finishes at least one
            self.pump(100)
            for _ in list(self.inflight):
                self.ack(0, False)
        assert len(self.q) == 0
        self.wire_order_is_call_order()
        delivered = [p.n for p in self.published if p.n not in self.withdrawn and not p.bad]
        assert list(dict.fromkeys(n for _, n in self.wire)) == delivered
        assert sorted(self.finished) == sorted(set(range(len(self.published))) - self.withdrawn)


Wire.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
test_wire = Wire.TestCase


class Closing(Wire):
    """The same, ending with close(): everything open finishes as closed, nothing twice."""

    def teardown(self) -> None:
        for done in self.q.close():
            assert done.outcome == "closed"
            self._finish(done)
        assert sorted(self.finished) == sorted(set(range(len(self.published))) - self.withdrawn)
        self._finish(self.q.publish(Pub(len(self.published))))
        assert self.finished[len(self.published)].outcome == "closed"


Closing.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
test_closing = Closing.TestCase


async def test_the_inbox_keeps_the_latest_per_topic_and_bounds_its_topics() -> None:
    from recorderd.mqtt.driver import Message
    from recorderd.mqtt.inbox import Inbox

    box = Inbox(max_topics=3)
    for i in range(5):
        box.put(Message("a/armed/set", str(i).encode(), False))
    for t in ("b", "c", "d"):  # a fourth topic pushes out the oldest waiting one
        box.put(Message(t, b"x", False))
    box.close()
    got = [(m.topic, m.payload) async for m in box]
    assert got == [("b", b"x"), ("c", b"x"), ("d", b"x")]
    assert box.superseded == 4 and box.dropped == 1
