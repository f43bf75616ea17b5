"""The daemon's path into a recorder: RecorderInlet (frames muxed in the sender's task while the
recorder is idle) and ThreadBatch (cluster writes of all cameras in shared worker-thread hops)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import trio
import trio.testing

from recorderd.config.model import RecordConfig
from recorderd.recording.batch import ThreadBatch
from recorderd.recording.frames import Frame, RecorderInput
from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from recorderd.recording.mkv import read_file
from recorderd.recording.recorder import CameraRecorder, RecorderInlet, _Work
from tests.support.wait import wait_until

WALL0 = 1_750_003_200.0


async def test_inlet_keeps_every_frame_in_order_whether_muxed_inline_or_queued(
    tmp_path: Path, jpegs: list[bytes]
) -> None:
    index = Index.open(tmp_path)
    batch = ThreadBatch(window=0.02)
    rec = CameraRecorder(
        "front",
        RecordConfig(mode="continuous", segment="2s"),  # cuts at even seconds of wall time
        root=recordings_root(tmp_path),
        index=index,
        zone=ZoneInfo("UTC"),
        batch=batch,
    )
    send, recv = trio.open_memory_channel[RecorderInput | _Work](512)
    inlet = RecorderInlet(rec, send)
    inline = queued = 0
    sent: list[bytes] = []
    with trio.fail_after(30):
        async with trio.open_nursery() as n:
            await n.start(batch.run)
            await n.start(rec.run, recv)
            t0 = trio.current_time()
            for i in range(60):
                if i % 3 == 0:  # now and then the recorder is found idle: the frame is muxed here
                    await trio.testing.wait_all_tasks_blocked(0.01)
                before = send.statistics().current_buffer_used
                idle = rec.idle
                data = jpegs[i % len(jpegs)] + i.to_bytes(4, "big")  # each frame distinct
                inlet.send_nowait(Frame(data, "video", t0 + i * 0.1, WALL0 + i * 0.1))
                sent.append(data)
                if idle and send.statistics().current_buffer_used == before:
                    inline += 1
                else:
                    queued += 1
            inlet.close()
            await rec.done.wait()
            n.cancel_scope.cancel()
    assert inline >= 10 and queued >= 10, (inline, queued)  # both paths were taken
    assert batch.calls >= 3 and batch.hops <= batch.calls  # clusters went through the batch
    files = [[b.data for b in read_file(p)[1]] for p in rec.closed]
    assert [d for f in files for d in f] == sent  # every frame, in order, byte for byte
    # and each in the segment of its time: frames sent while a cut was under way (the old file
    # closing, the new one opening) went to the new file, none into the one being closed
    assert [len(f) for f in files] == [20, 20, 20]
    index.close()


async def run_callers(
    batch: ThreadBatch, call: Callable[[int], Awaitable[None]], n: int, *, in_order: bool = False
) -> None:
    """call(0) ... call(n - 1) in tasks of their own against the running batch, until all return;
    `in_order`: each queued before the next starts."""
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(batch.run)
            async with trio.open_nursery() as callers:
                for i in range(n):
                    callers.start_soon(call, i)
                    if in_order:
                        await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()


async def test_batch_runs_calls_together_each_with_its_own_result() -> None:
    batch = ThreadBatch(window=0.05)
    threads: list[int] = []

    def work(i: int) -> int:
        threads.append(threading.get_ident())
        if i == 3:
            raise ValueError("three")
        return i * 10

    results: dict[int, object] = {}

    async def call(i: int) -> None:
        try:
            results[i] = await batch.run_sync(work, i)
        except ValueError as e:
            results[i] = e

    await run_callers(batch, call, 8)
    assert {i: r for i, r in results.items() if i != 3} == {i: i * 10 for i in range(8) if i != 3}
    assert isinstance(results[3], ValueError)  # one caller's error is its own
    assert batch.hops == 1 and batch.calls == 8 and len(set(threads)) == 1  # one hop for all
    assert threading.get_ident() not in threads  # and never in the trio thread


async def test_batch_carries_out_what_is_queued_at_a_stop_and_calls_after_it() -> None:
    batch = ThreadBatch(window=5.0)  # the window never ends by itself in this test
    done: list[int] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            await n.start(batch.run)
            async with trio.open_nursery() as callers:
                for i in range(3):
                    callers.start_soon(batch.run_sync, done.append, i)
                await trio.testing.wait_all_tasks_blocked()
                assert done == []  # queued, waiting for the window
                n.cancel_scope.cancel()  # the batch's task ends: the queued calls still run
    assert sorted(done) == [0, 1, 2]
    assert await batch.run_sync(lambda: 42) == 42  # after the end: a worker thread of its own


async def test_batch_stopped_while_its_hop_waits_for_a_thread_still_runs_the_calls() -> None:
    """The window has ended and the hop waits for a worker thread when the stop comes: the calls
    it took off the queue still run (their callers' muxers count them as written)."""
    limiter = trio.to_thread.current_default_thread_limiter()
    old = limiter.total_tokens
    limiter.total_tokens = 1
    release = threading.Event()
    batch = ThreadBatch(window=0.01)
    done: list[int] = []
    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as outer:

                async def hold() -> None:  # takes the only worker thread until released
                    await trio.to_thread.run_sync(release.wait)

                outer.start_soon(hold)
                async with trio.open_nursery() as n:
                    await n.start(batch.run)
                    outer.start_soon(batch.run_sync, done.append, 1)
                    await wait_until(lambda: limiter.statistics().tasks_waiting > 0, what="the hop waiting")
                    n.cancel_scope.cancel()
                    release.set()
    finally:
        limiter.total_tokens = old
    assert done == [1]


async def test_batch_hands_back_in_groups_so_no_crowd_wakes_at_once() -> None:
    """Hundreds of cameras' clusters in one window: written in groups of `group`, and the callers
    of a group go on while the next group is written (never all of them woken together)."""
    batch = ThreadBatch(window=0.5, group=4)
    first_back = threading.Event()  # set by a caller of the first group once it goes on
    seen: dict[int, bool] = {}

    def work(i: int) -> None:
        if i == 4:  # the second group's first call: did a caller of the first go on meanwhile?
            seen[i] = first_back.wait(5)

    async def call(i: int) -> None:
        await batch.run_sync(work, i)
        if i < 4:
            first_back.set()

    await run_callers(batch, call, 10, in_order=True)
    assert batch.calls == 10 and batch.hops == 3  # 4 + 4 + 2
    assert seen == {4: True}
