"""The trio -> asyncio bridge: results, exceptions, cancellation reaching asyncio, clean shutdown."""

from __future__ import annotations

import asyncio
import functools
import threading

import pytest
import trio

from recorderd.actions.bridge import BridgeClosed, open_asyncio_bridge
from tests.support.wait import wait_until


async def test_result_and_exception_cross_the_bridge() -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    async def fail(msg: str) -> None:
        await asyncio.sleep(0)
        raise ValueError(msg)

    with trio.fail_after(5):
        async with open_asyncio_bridge() as bridge:
            assert await bridge.run(add, 2, 3) == 5
            with pytest.raises(ValueError, match="boom"):
                await bridge.run(fail, "boom")


async def test_runs_on_a_private_loop_thread() -> None:
    async def where() -> tuple[int, bool]:
        loop = asyncio.get_running_loop()
        return threading.get_ident(), loop.is_running()

    with trio.fail_after(5):
        async with open_asyncio_bridge() as bridge:
            ident, running = await bridge.run(where)
            assert ident != threading.get_ident()
            assert running


async def test_cancellation_reaches_asyncio_and_waits_for_unwinding() -> None:
    started = threading.Event()
    unwound = threading.Event()

    async def wait_forever() -> None:
        never = asyncio.Event()
        started.set()
        try:
            await never.wait()
        finally:
            # the unwinding itself takes time; run() must wait for it
            await asyncio.shield(asyncio.sleep(0.2))
            unwound.set()

    with trio.fail_after(5):
        async with open_asyncio_bridge() as bridge:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(bridge.run, wait_forever)
                    # the asyncio side is waiting: now cancel
                    await wait_until(started.is_set, 5, "the asyncio side waiting")
                    scope.cancel()
            assert scope.cancelled_caught
            assert unwound.is_set(), "run() returned before the asyncio task finished cancelling"


async def test_cancellation_closes_a_real_connection_to_a_slow_server() -> None:
    """A server that accepts and never answers: the asyncio reader is cancelled and its socket closed."""
    closed_seen = trio.Event()
    hello_seen = trio.Event()

    async def handler(stream: trio.SocketStream) -> None:
        # never answers; waits for the client to go away
        while await stream.receive_some(1024):
            hello_seen.set()
        closed_seen.set()

    async def read_reply(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"HELLO\r\n")
            return await reader.readline()
        finally:
            writer.close()
            await writer.wait_closed()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            async with open_asyncio_bridge() as bridge:
                with trio.CancelScope() as scope:
                    async with trio.open_nursery() as inner:
                        inner.start_soon(bridge.run, read_reply, port)
                        await hello_seen.wait()  # the asyncio side is now blocked reading the reply
                        scope.cancel()
                assert scope.cancelled_caught
            await closed_seen.wait()  # the server saw EOF: the asyncio side really let go
            nursery.cancel_scope.cancel()


async def test_exit_cancels_leftovers_and_stops_the_thread() -> None:
    before = {t.ident for t in threading.enumerate()}
    entered = threading.Event()
    cancelled = threading.Event()
    outcome: list[BaseException] = []

    async def forever() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            async with open_asyncio_bridge() as bridge:

                async def caller() -> None:
                    try:
                        await bridge.run(forever)
                    except BridgeClosed as e:
                        outcome.append(e)

                nursery.start_soon(caller)
                await wait_until(entered.is_set, 5, "the call running on the asyncio side")
            # the context is gone: the left-over call was cancelled and the thread joined
            assert cancelled.is_set()
    assert outcome and isinstance(outcome[0], BridgeClosed)
    after = {t.ident for t in threading.enumerate() if t.name == "recorderd-asyncio"}
    assert not (after - before)
    with pytest.raises(BridgeClosed):
        await bridge.run(asyncio.sleep, 0)


async def test_many_concurrent_calls() -> None:
    async def echo(i: int) -> int:
        await asyncio.sleep(0.01)
        return i

    results: list[int] = []
    with trio.fail_after(10):
        async with open_asyncio_bridge() as bridge, trio.open_nursery() as nursery:
            for i in range(50):

                async def one(i: int = i) -> None:
                    results.append(await bridge.run(echo, i))

                nursery.start_soon(one)
    assert sorted(results) == list(range(50))
