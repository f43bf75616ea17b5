"""One paho connection driven from trio, against a real mosquitto: no reconnects, no queue."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import pytest
import trio

from recorderd.mqtt.driver import Connack, ConnectError, Connection, Message, Settings, Will

WILL = Will("drv/available", b"offline", qos=1, retain=True)


def settings(port: int, **kw: Any) -> Settings:
    kw.setdefault("connect_timeout", 2.0)
    return Settings(
        host="127.0.0.1", port=port, client_id=f"drv-{os.urandom(3).hex()}", misc_interval=0.1, **kw
    )


class Seen:
    """What the connection reported; `changed` is set (and replaced) on every report."""

    def __init__(self) -> None:
        self.published: dict[int, str | None] = {}
        self.messages: list[Message] = []
        self.changed = trio.Event()

    def on_published(self, mid: int, reason: str | None) -> None:
        self.published[mid] = reason
        self._poke()

    def on_message(self, msg: Message) -> None:
        self.messages.append(msg)
        self._poke()

    def _poke(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    async def until(self, predicate: Any, timeout: float = 10.0) -> None:
        with trio.fail_after(timeout):
            while not predicate():
                await self.changed.wait()


def connection(s: Settings, seen: Seen) -> Connection:
    return Connection(s, on_published=seen.on_published, on_message=seen.on_message)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_publish_subscribe_and_a_clean_disconnect(
    mosquitto: Any, subscriber: Any, protocol: str
) -> None:
    sub = subscriber(mosquitto.port, ["drv/#"])
    await sub.wait_subscribed()
    seen = Seen()
    conn = connection(settings(mosquitto.port, protocol=protocol, will=WILL), seen)
    async with trio.open_nursery() as nursery:
        connack = await nursery.start(conn.run)
        assert isinstance(connack, Connack)
        conn.subscribe("drv/in", 1)
        # same connection: the broker handles SUBSCRIBE before this PUBLISH, so it comes back
        mid = conn.publish("drv/in", b"hello", 1, False)
        await seen.until(lambda: mid in seen.published and seen.messages)
        assert seen.published[mid] is None
        assert seen.messages == [Message("drv/in", b"hello", False)]
        with trio.fail_after(5):
            await conn.disconnect()  # run() returns once paho closed the socket
    await sub.marker("drv/zz-marker")
    assert sub.on("drv/available") == []  # DISCONNECT: no will
    assert [m.payload for m in sub.on("drv/in")] == [b"hello"]


async def test_cancelled_it_drops_the_connection_and_the_broker_sends_the_will(
    mosquitto: Any, subscriber: Any
) -> None:
    sub = subscriber(mosquitto.port, ["drv/#"])
    await sub.wait_subscribed()
    conn = connection(settings(mosquitto.port, will=WILL), Seen())
    async with trio.open_nursery() as nursery:
        await nursery.start(conn.run)
        nursery.cancel_scope.cancel()
    await sub.wait_for(lambda ms: [m.payload for m in ms] == [b"offline"], what="the will")


async def test_the_broker_dying_ends_run_quietly(mosquitto: Any) -> None:
    """Killed with publications on their way: run() returns (no error from a task waiting on a
    closed socket), and says why."""
    seen = Seen()
    conn = connection(settings(mosquitto.port), seen)
    async with trio.open_nursery() as nursery:
        await nursery.start(conn.run)
        for i in range(20):
            conn.publish("drv/x", str(i).encode(), 1, False)
        await trio.to_thread.run_sync(lambda: mosquitto.stop(kill=True))
        for i in range(20):  # NO_CONN is not an error: the caller resends on the next connection
            conn.publish("drv/x", str(i).encode(), 1, False)
    assert conn.lost_reason == "the connection closed"


async def test_paho_never_holds_back(mosquitto: Any, subscriber: Any, gate_factory: Any) -> None:
    """The window is the queue's: with PUBACKs lost, paho still sends all it is handed (more than
    its own default of 20 in flight)."""
    gate = await gate_factory(mosquitto)
    sub = subscriber(mosquitto.port, ["drv/#"])
    await sub.wait_subscribed()
    conn = connection(settings(gate.port), Seen())
    async with trio.open_nursery() as nursery:
        await nursery.start(conn.run)
        gate.swallow = True
        for i in range(30):
            conn.publish("drv/x", str(i).encode(), 1, False)
        got = await sub.wait_for(lambda ms: len(ms) >= 30, what="all 30")
        nursery.cancel_scope.cancel()
    assert [int(m.payload) for m in got] == list(range(30))


async def test_receive_maximum_is_reported(mosquitto_factory: Any) -> None:
    broker = mosquitto_factory(extra=["max_inflight_messages 3"])
    for protocol, expected in [("5", 3), ("3.1.1", None)]:
        conn = connection(settings(broker.port, protocol=protocol), Seen())
        async with trio.open_nursery() as nursery:
            connack = await nursery.start(conn.run)
            nursery.cancel_scope.cancel()
        assert connack == Connack(receive_maximum=expected)


async def test_connect_failures(mosquitto_factory: Any, nursery: trio.Nursery) -> None:
    async def attempt(port: int, **kw: Any) -> tuple[str, str, float]:
        conn = connection(settings(port, **kw), Seen())
        t0 = time.monotonic()
        async with trio.open_nursery() as n:
            try:
                await n.start(conn.run)
            except ConnectError as e:
                return e.failure.kind, e.failure.message, time.monotonic() - t0
            n.cancel_scope.cancel()
        raise AssertionError("connected")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    kind, message, _ = await attempt(closed)
    assert (kind, message) == ("connect", f"cannot connect to 127.0.0.1:{closed}: connection refused")

    # accepts, then hangs up before CONNACK: noticed at once, not after the connect timeout
    async def hang_up(stream: trio.SocketStream) -> None:
        await stream.aclose()

    listeners = await nursery.start(trio.serve_tcp, hang_up, 0)
    port = listeners[0].socket.getsockname()[1]
    kind, _, took = await attempt(port, connect_timeout=5.0)
    assert kind == "closed" and took < 2.0, (kind, took)

    # the kernel completes the handshake, nobody ever answers: the CONNACK wait times out
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        kind, _, took = await attempt(silent.getsockname()[1], connect_timeout=0.5)
    assert kind == "timeout" and 0.4 < took < 3.0, (kind, took)

    broker = mosquitto_factory(users={"cam": "right"})
    kind, message, _ = await attempt(broker.port, username="cam", password="wrong")
    assert kind == "auth" and "wrong" not in message, message


def test_this_paho_can_send_our_own_pingreq() -> None:
    """The idle probe uses paho's private `_send_pingreq` (driver._ping): a paho without it falls
    back to keepalive alone, so a release that drops it must be noticed here."""
    import paho.mqtt.client as paho

    assert callable(getattr(paho.Client, "_send_pingreq", None))


@pytest.mark.parametrize("owing", [True, False], ids=["publication-owed", "idle"])
async def test_a_broker_that_stalls_after_connack_is_given_up_quickly(
    mosquitto: Any, gate_factory: Any, owing: bool
) -> None:
    """The broker keeps the TCP connection but answers nothing: with a PUBACK owed, and idle (our
    PINGREQ goes unanswered), the connection ends within `answer_timeout`, not paho's keepalive."""
    gate = await gate_factory(mosquitto)
    conn = connection(settings(gate.port, keepalive=60.0, answer_timeout=1.0), Seen())
    async with trio.open_nursery() as nursery:
        await nursery.start(conn.run)
        await trio.sleep(1.5)  # a healthy idle connection: probed, answered, kept
        assert not conn._ended.is_set()
        gate.swallow = True
        t0 = trio.current_time()
        if owing:
            conn.publish("drv/x", b"1", 1, False)
        with trio.fail_after(10):
            await conn._ended.wait()
        took = trio.current_time() - t0
    assert conn.lost_reason == "the broker stopped answering (nothing for 1s)"
    assert took < 4.0, took
