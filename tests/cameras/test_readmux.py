"""ReadMux: one task reading many camera sockets, each chunk to its stream's handler."""

from __future__ import annotations

import socket

import pytest
import trio
import trio.testing

from recorderd.cameras.readmux import ReadMux
from tests.support.wait import wait_until


def pairs(n: int) -> list[tuple[socket.socket, socket.socket]]:
    out = []
    for _ in range(n):
        a, b = socket.socketpair()
        a.setblocking(False)
        out.append((a, b))
    return out


async def test_many_sockets_one_task_each_handler_gets_its_bytes_in_order() -> None:
    mux = ReadMux()
    socks = pairs(5)
    got: dict[int, bytearray] = {i: bytearray() for i in range(5)}
    ended: list[int] = []

    async def follow(i: int) -> None:
        assert await mux.follow(socks[i][0].fileno(), got[i].extend)  # True: the peer closed
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
                await trio.testing.wait_all_tasks_blocked()
            for _, peer in socks:
                peer.close()
            await wait_until(lambda: len(ended) == 5, what="every follower ended")
            assert mux.reads >= 5 * 20 and mux.reads / mux.rounds > 1.5  # several sockets per wake-up
            n.cancel_scope.cancel()
    for i in range(5):
        assert bytes(got[i]) == b"".join(f"{i}:{r};".encode() for r in range(20))
    for a, _ in socks:
        a.close()


async def test_an_error_ends_only_its_own_stream() -> None:
    mux = ReadMux()
    (a, pa), (b, pb) = pairs(2)
    good = bytearray()

    def bad(data: bytes) -> None:
        raise ValueError(f"cannot parse {data!r}")

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            await n.start(mux.run)
            n.start_soon(mux.follow, a.fileno(), good.extend)
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
    seen = bytearray()
    result: list[bool] = []

    async def follow_b() -> None:
        result.append(await mux.follow(b.fileno(), seen.extend))

    with trio.fail_after(10):
        async with trio.open_nursery() as outer:
            async with trio.open_nursery() as n:
                await n.start(mux.run)
                with trio.move_on_after(0.05):  # a liveness deadline, say
                    await mux.follow(a.fileno(), seen.extend)
                a.close()  # closed right after, as httpx does
                c, pc = socket.socketpair()  # most likely the very descriptor number `a` had
                c.setblocking(False)
                other = bytearray()
                outer.start_soon(follow_b)
                n.start_soon(mux.follow, c.fileno(), other.extend)  # the cancelled one left the set
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
