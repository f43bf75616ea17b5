"""The recorders' heartbeat (from their channels) stops the watchdog's pings; the status line."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import trio
import trio.testing

from recorderd.daemon.health import RecorderWatch, status_line
from recorderd.service.notify import Notifier
from recorderd.service.watchdog import Watchdog


def test_a_recorder_that_takes_nothing_stops_the_heart() -> None:
    send, recv = trio.open_memory_channel[int](100)
    idle_send, _idle_recv = trio.open_memory_channel[int](100)
    watch = RecorderWatch(lambda: {"a": send, "idle": idle_send}, lag=2.0, allowance=3.0)
    watch.sample(0.0)
    assert not watch.heart.stuck(0.0) and not watch.pending()
    # a: frames flow and are taken: work comes and goes, never lagging
    for t in range(1, 20):
        send.send_nowait(t)
        send.send_nowait(t)
        watch.sample(t - 0.5)
        recv.receive_nowait()
        recv.receive_nowait()
        watch.sample(float(t))
    assert watch.lagging(19.0) == [] and not watch.heart.stuck(19.0)
    # now the recorder stops taking (a disk that hangs): the queue grows, never goes down
    for t in range(20, 40):
        send.send_nowait(t)
        watch.sample(float(t))
        if t <= 21:  # within `lag` of the last look that found it empty
            assert watch.lagging(float(t)) == []
    assert watch.lagging(39.0) == ["a"] and watch.pending()
    assert watch.heart.stuck(39.0)  # the last all-clear was more than `allowance` ago
    # it takes again: one look later all is well
    while True:
        try:
            recv.receive_nowait()
        except trio.WouldBlock:
            break
    watch.sample(40.0)
    assert not watch.heart.stuck(40.0) and watch.lagging(40.0) == []


async def test_watchdog_pings_stop_while_a_recorder_is_stuck(
    tmp_path: Path, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # virtual time: the datagrams are sent synchronously, so each is there when the clock jumps
    path = tmp_path / "notify"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(path))
    sock = trio.socket.from_stdlib_socket(srv)
    notifier = Notifier(
        {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "100000", "WATCHDOG_PID": str(os.getpid())}
    )
    send, recv = trio.open_memory_channel[int](1000)
    watch = RecorderWatch(lambda: {"a": send}, lag=0.2, allowance=0.2, interval=0.05)
    dog = Watchdog(notifier)
    dog.add(watch.heart)
    nursery.start_soon(watch.run)
    await nursery.start(dog.run)
    with trio.fail_after(2):
        assert await sock.recv(100) == b"WATCHDOG=1"

    async def feed() -> None:
        while True:
            send.send_nowait(1)
            await trio.sleep(0.02)

    nursery.start_soon(feed)  # nobody takes: lagging after 0.2 s, stuck 0.2 s after its last beat
    await trio.sleep(0.3)
    assert dog.healthy()
    await trio.sleep(0.2)
    assert not dog.healthy()
    while True:  # drop the pings sent before it went stuck
        try:
            srv.recv(100, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
    with trio.move_on_after(0.4):
        await sock.recv(100)
        raise AssertionError("a ping was sent while the recorder was stuck")

    async def take() -> None:
        async for _ in recv:
            pass

    nursery.start_soon(take)  # it takes again: pings resume
    with trio.fail_after(2):
        assert await sock.recv(100) == b"WATCHDOG=1"
    notifier.close()
    srv.close()


def test_status_line() -> None:
    assert status_line(5, 5, 2) == "5 cameras, 5 connected, 2 incidents open"
    assert status_line(1, 0, 1, pending=3, lagging=1) == (
        "1 camera, 0 connected, 1 incident open, 3 actions pending, 1 recorder lagging"
    )
