"""One task reads the plain-TCP camera bodies of all cameras, so a frame costs no task switch.

Every camera stream still has its own task (connect, authenticate, liveness, errors, backoff:
recorderd.cameras.streams), but once httpx has handed over a close-delimited body over plain TCP
(CameraHttp.body), that task registers the socket here and waits. This task waits on one epoll
set for all of them: each wake-up reads every socket that is ready (one read of up to 64 KiB
each) and hands the bytes to the stream's own synchronous handler (the multipart parser, then
the camera: frame to the recorder, samples to the incident machine). Per frame that saves the
stream task's wake-up, its trio wait registration (an epoll_ctl) and its scheduling, which on
the 2-core VM of docs/performance.md is a fifth of what a frame costs.

The stream task stays in charge: its cancel scope (the liveness deadline, a stop) ends the wait
and takes the socket out of the set before httpx closes it; the end of the body, a socket error
or an exception of the handler wakes it with the outcome. Sockets are registered level-triggered,
so a socket with more than one read's worth of bytes is simply read again at the next round.
"""

from __future__ import annotations

import contextlib
import os
import select
from collections.abc import Callable

import trio

CHUNK = 65536
_MAX_EVENTS = 1024


class _Follower:
    __slots__ = ("done", "eof", "error", "fd", "on_data")

    def __init__(self, fd: int, on_data: Callable[[bytes], None]) -> None:
        self.fd = fd
        self.on_data = on_data
        self.done = trio.Event()
        self.error: BaseException | None = None
        self.eof = False


class ReadMux:
    """`await nursery.start(mux.run)`, then each stream: `await mux.follow(fd, on_data)`."""

    def __init__(self) -> None:
        self._ep: select.epoll | None = None
        self._followers: dict[int, _Follower] = {}
        self.rounds = 0  # wake-ups (for benchmarks: reads per wake-up)
        self.reads = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        ep = select.epoll()
        self._ep = ep
        task_status.started()
        try:
            while True:
                await trio.lowlevel.wait_readable(ep.fileno())
                self.rounds += 1
                for fd, _ in ep.poll(0, _MAX_EVENTS):
                    f = self._followers.get(fd)
                    if f is not None:
                        self._read(f)
        finally:
            self._ep = None
            for f in list(self._followers.values()):
                self._end(f, None)  # the streams go on reading by themselves (`follow` returns False)
            ep.close()

    def _read(self, f: _Follower) -> None:
        try:
            data = os.read(f.fd, CHUNK)
        except BlockingIOError:
            return
        except OSError as e:
            self._end(f, e)
            return
        self.reads += 1
        if not data:
            f.eof = True
            self._end(f, None)
            return
        try:
            f.on_data(data)
        except Exception as e:  # the stream's own (ProtocolError, ...): its task raises it
            self._end(f, e)

    def _end(self, f: _Follower, error: BaseException | None) -> None:
        if self._followers.get(f.fd) is f:
            del self._followers[f.fd]
            if self._ep is not None:
                with contextlib.suppress(OSError):  # already closed: epoll dropped it by itself
                    self._ep.unregister(f.fd)
        f.error = error
        f.done.set()

    async def follow(self, fd: int, on_data: Callable[[bytes], None]) -> bool:
        """Feed what the socket `fd` sends to `on_data` until the peer closes it (True), or until
        this mux stops (False: nothing was lost; go on reading by other means). A socket error or
        an exception of `on_data` is raised here; a cancel takes the socket out of the set at once.
        """
        ep = self._ep
        if ep is None:
            return False
        if fd in self._followers:
            raise trio.BusyResourceError(f"fd {fd} is already followed")
        f = _Follower(fd, on_data)
        try:
            ep.register(fd, select.EPOLLIN)
        except FileExistsError:  # a closed socket's number, still in the set: take it over
            ep.modify(fd, select.EPOLLIN)
        self._followers[fd] = f
        try:
            await f.done.wait()
        finally:
            if self._followers.get(fd) is f:  # cancelled: the socket is about to be closed
                self._end(f, None)
        if f.error is not None:
            raise f.error
        return f.eof
