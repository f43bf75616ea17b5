"""ReadMux: one task reading many camera sockets, each chunk to its stream's handler."""

from __future__ import annotations

import socket

import pytest
import trio
import trio.testing

from recorderd.cameras.readmux import ReadMux
from tests.support.wait import wait_until


class Got(bytearray):
    """A handler that keeps the bytes and when they arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.at: list[float] = []

    def __call__(self, data: bytes, at: float) -> None:
        self.extend(data)
        self.at.append(at)


def pairs(n: int) -> list[tuple[socket.socket, socket.socket]]:
    out = []
    for _ in range(n):
        a, b = socket.socketpair()
        a.setblocking(False)
        out.append((a, b))
    return out


@pytest.mark.parametrize("urgent", [True, False], ids=["urgent", "bulk"])
async def test_many_sockets_one_task_each_handler_gets_its_bytes_in_order(urgent: bool) -> None:
    mux = ReadMux(cadence=0.02)
    socks = pairs(5)
    got = {i: Got() for i in range(5)}
    ended: list[int] = []

    async def follow(i: int) -> None:
        assert await mux.follow(socks[i][0].fileno(), got[i], urgent=urgent)  # True: the peer closed
        ended.append(i)

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            await n.start(mux.run)
            for i in range(5):
                n.start_soon(follow, i)
            await trio.testing.wait_all_tasks_blocked()
            for rnd in range(20):
                for i, (_, peer) in enumerate(socks):
                    peer.sendall(f"{i}:{rnd};".encode())
                if urgent:
                    await trio.testing.wait_all_tasks_blocked()
                else:  # bulk: read on the cadence, whatever arrived in between at once
                    await trio.sleep(0.005)
            for _, peer in socks:
                peer.close()
            await wait_until(lambda: len(ended) == 5, what="every follower ended")
            assert mux.reads / mux.rounds > 1.5  # several sockets per wake-up
            n.cancel_scope.cancel()
    for i in range(5):
        assert bytes(got[i]) == b"".join(f"{i}:{r};".encode() for r in range(20))
    for a, _ in socks:
        a.close()


async def test_an_error_ends_only_its_own_stream() -> None:
    mux = ReadMux()
    (a, pa), (b, pb) = pairs(2)
    good = Got()

    def bad(data: bytes, at: float) -> None:
        raise ValueError(f"cannot parse {data!r}")

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            await n.start(mux.run)
            n.start_soon(mux.follow, a.fileno(), good)
            with pytest.raises(ValueError, match="cannot parse b'x'"):
                pb.sendall(b"x")
                await mux.follow(b.fileno(), bad)
            pa.sendall(b"still here")
            await wait_until(lambda: bytes(good) == b"still here", what="the other stream's bytes")
            n.cancel_scope.cancel()
    for s in (a, pa, b, pb):
        s.close()


async def test_a_cancelled_follower_leaves_the_set_and_a_stopped_mux_hands_back() -> None:
    mux = ReadMux()
    (a, pa), (b, pb) = pairs(2)
    seen = Got()
    result: list[bool] = []

    async def follow_b() -> None:
        result.append(await mux.follow(b.fileno(), seen))

    with trio.fail_after(10):
        async with trio.open_nursery() as outer:
            async with trio.open_nursery() as n:
                await n.start(mux.run)
                with trio.move_on_after(0.05):  # a liveness deadline, say
                    await mux.follow(a.fileno(), seen)
                a.close()  # closed right after, as httpx does
                c, pc = socket.socketpair()  # most likely the very descriptor number `a` had
                c.setblocking(False)
                other = Got()
                outer.start_soon(follow_b)
                n.start_soon(mux.follow, c.fileno(), other)  # the cancelled one left the set
                await trio.testing.wait_all_tasks_blocked()
                pc.sendall(b"for c")
                pb.sendall(b"ping")
                await wait_until(lambda: bytes(seen) == b"ping" and bytes(other) == b"for c", what="both")
                n.cancel_scope.cancel()  # the mux stops: b's follower is handed back
            await trio.testing.wait_all_tasks_blocked()
            assert result == [False]
            pb.sendall(b"for the stream itself")  # nothing of it was taken by the mux
            assert b.recv(100) == b"for the stream itself"
    for s in (pa, b, pb, c, pc):
        s.close()


async def test_bulk_bytes_keep_the_time_they_arrived_not_the_time_of_the_pass() -> None:
    """Read on the cadence, a chunk carries the kernel's receive time of its last packet."""
    listener = socket.create_server(("127.0.0.1", 0))
    peer = socket.create_connection(listener.getsockname())
    mine, _ = listener.accept()
    mine.setblocking(False)
    mux = ReadMux(cadence=0.3)
    got = Got()
    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            await n.start(mux.run)
            n.start_soon(lambda: mux.follow(mine.fileno(), got, urgent=False))
            await trio.testing.wait_all_tasks_blocked()
            await trio.sleep(0.05)
            sent = []
            for i in range(3):
                sent.append(trio.current_time())
                peer.sendall(f"frame {i};".encode())
                await trio.sleep(0.02)
            await wait_until(lambda: bytes(got) == b"frame 0;frame 1;frame 2;", what="the three frames")
            read_at = trio.current_time()
            n.cancel_scope.cancel()
    assert len(got.at) == 1  # one read in one pass
    assert abs(got.at[0] - sent[-1]) < 0.015, (got.at, sent, read_at)  # the last packet's arrival
    assert read_at - sent[-1] > 0.05  # while the pass came later
    for s in (listener, peer, mine):
        s.close()


@pytest.mark.parametrize("paced", [False, True], ids=["alone", "paced"])
async def test_one_bulk_socket_is_read_seldom_unless_paced(paced: bool) -> None:
    """Few bulk sockets: few passes (each wake-up costs what tens of frames do); a paced one (a
    camera's audio) keeps the passes at the shortest cadence."""
    ((a, peer),) = pairs(1)
    mux = ReadMux(cadence=0.1)
    got = Got()
    with trio.fail_after(20):
        async with trio.open_nursery() as n:
            await n.start(mux.run)
            n.start_soon(lambda: mux.follow(a.fileno(), got, urgent=False, paced=paced))
            t_end = trio.current_time() + 2.5
            while trio.current_time() < t_end:
                peer.sendall(b"x" * 100)
                await trio.sleep(0.02)
            n.cancel_scope.cancel()
    assert len(got) > 0
    if paced:
        assert mux.rounds >= 15, mux.rounds  # every 0.1 s
    else:
        assert mux.rounds <= 4, mux.rounds  # every second
    a.close()
    peer.close()


async def test_a_watched_bulk_socket_is_read_as_bytes_come() -> None:
    ((a, peer),) = pairs(1)
    mux = ReadMux(cadence=0.1)
    got = Got()
    watching = [False]
    with trio.fail_after(20):
        async with trio.open_nursery() as n:
            await n.start(mux.run)
            n.start_soon(lambda: mux.follow(a.fileno(), got, urgent=False, watched=lambda: watching[0]))
            peer.sendall(b"first;")
            await wait_until(lambda: bytes(got) == b"first;", 5, "the first pass")
            watching[0] = True
            peer.sendall(b"again;")  # read at the next pass, which moves the socket to the urgent set
            await wait_until(lambda: bytes(got).endswith(b"again;"), 5, "the move")
            t0 = trio.current_time()
            peer.sendall(b"live;")
            await wait_until(lambda: bytes(got).endswith(b"live;"), 5, "a live read")
            assert trio.current_time() - t0 < 0.1  # on arrival, not at a pass (up to a second away)
            watching[0] = False
            n.cancel_scope.cancel()
    a.close()
    peer.close()


async def test_a_long_bulk_pass_lets_an_event_through() -> None:
    """Hundreds of cameras make a pass long; an alarm that comes meanwhile is read within the
    pass (once PASS_SLICE more bytes are read), not after it."""
    from recorderd.cameras.readmux import PASS_SLICE

    n_bulk = 12
    frame = b"j" * (PASS_SLICE // 4)
    bulk = pairs(n_bulk)
    ((ev, ev_peer),) = pairs(1)
    order: list[str] = []
    got: dict[int, int] = {}

    def on_bulk(i: int, data: bytes) -> None:
        if not order:
            ev_peer.sendall(b"alarm")  # the event comes while the pass has just begun
        got[i] = got.get(i, 0) + len(data)
        if got[i] == len(frame):
            order.append("bulk")

    async def follow_bulk(mux: ReadMux, fd: int, i: int) -> None:
        await mux.follow(fd, lambda d, at: on_bulk(i, d), urgent=False)

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            mux = ReadMux(cadence=0.1)
            await n.start(mux.run)
            n.start_soon(lambda: mux.follow(ev.fileno(), lambda d, at: order.append("event"), urgent=True))
            for i, (a, peer) in enumerate(bulk):
                peer.sendall(frame)
                n.start_soon(follow_bulk, mux, a.fileno(), i)
            await wait_until(lambda: len(order) == n_bulk + 1, what="every socket read")
            n.cancel_scope.cancel()
    assert order.index("event") <= 8 < n_bulk, order  # read while the pass went on, not after it
    for s in (ev, ev_peer, *(s for p in bulk for s in p)):
        s.close()
