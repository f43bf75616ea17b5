"""Watchdog pings over a real datagram socket: they flow, stop while the loop is blocked (real
time) or a part is stuck (virtual time)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import trio
import trio.testing

from recorderd.service.notify import Notifier
from recorderd.service.watchdog import Heartbeat, Watchdog


def _listener(tmp_path: Path, usec: int) -> tuple[socket.socket, Notifier]:
    path = tmp_path / "notify"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(path))
    srv.setblocking(False)
    return srv, Notifier(
        {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": str(usec), "WATCHDOG_PID": str(os.getpid())}
    )


def _drain(srv: socket.socket) -> int:
    n = 0
    while True:
        try:
            srv.recv(100)
            n += 1
        except BlockingIOError:
            return n


async def _next_ping(srv: socket.socket, deadline: float) -> float:
    sock = trio.socket.from_stdlib_socket(srv)
    with trio.fail_after(deadline):
        assert await sock.recv(100) == b"WATCHDOG=1"
    return time.monotonic()


async def test_pings_flow_and_stop_while_blocked(tmp_path: Path, nursery: trio.Nursery) -> None:
    srv, notifier = _listener(tmp_path, 100_000)  # ping every 50 ms
    await nursery.start(Watchdog(notifier).run)
    for _ in range(3):
        await _next_ping(srv, 1.0)
    _drain(srv)  # then block the loop for 0.6 s: no ping may be sent meanwhile
    blocked_at = time.monotonic()
    time.sleep(0.6)  # deliberately blocks the trio loop
    await trio.lowlevel.checkpoint()
    assert _drain(srv) <= 1  # at most the ping already due when the block ended
    assert time.monotonic() - blocked_at >= 0.6
    await _next_ping(srv, 1.0)  # and they resume
    srv.close()


async def test_stuck_part_stops_pings(
    tmp_path: Path, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # virtual time: the datagrams are sent synchronously, so each is there when the clock jumps
    srv, notifier = _listener(tmp_path, 100_000)
    dog = Watchdog(notifier)
    busy = True
    heart = dog.add(Heartbeat("recorder", allowance=0.3, pending=lambda: busy))
    await nursery.start(dog.run)
    await _next_ping(srv, 1.0)
    await trio.sleep(0.4)  # the recorder has work and has not beaten for longer than its allowance
    assert not dog.healthy()
    _drain(srv)  # pings sent before it went stale
    sock = trio.socket.from_stdlib_socket(srv)
    with trio.move_on_after(0.3):
        await sock.recv(100)
        raise AssertionError("a ping was sent while the recorder was stuck")
    heart.beat()
    assert dog.healthy()
    await _next_ping(srv, 1.0)
    busy = False  # idle parts are never stuck, however long ago they beat
    await trio.sleep(0.4)
    assert dog.healthy()
    srv.close()
