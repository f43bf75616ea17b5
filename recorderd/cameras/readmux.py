"""One task reads the plain-TCP camera bodies of all cameras, so a frame costs no task switch.

Every camera stream still has its own task (connect, authenticate, liveness, errors, backoff:
recorderd.cameras.streams), but once httpx has handed over a close-delimited body over plain TCP
(CameraHttp.body), that task registers the socket here and waits. This task waits on one epoll
set for all of them: each wake-up reads every socket that is ready and hands the bytes to the
stream's own synchronous handler (the multipart parser, then the camera: frame to the recorder,
samples to the incident machine). Per frame that saves the
stream task's wake-up, its trio wait registration (an epoll_ctl) and its scheduling, which on
the 2-core VM of docs/performance.md is a sizeable share of what a frame costs.

Two kinds of sockets. *Urgent* ones (event monitors, and video whose frame headers carry the
trigger bits) are read as soon as bytes arrive: alarms must not wait. *Bulk* ones (video and audio
that are only recorded) are read on a cadence, every half second one pass over all of them
reading everything each holds: a frame needs no latency on its way to a file, and cameras are not
synchronised, so reading on arrival would cost one wake-up per frame per camera (a 22 KB frame
even comes in several TCP bursts), where a pass reads the frames of every camera at once, several
whole frames per read. The kernel holds what arrives in between (the socket's receive buffer, set
large for bulk sockets). A long pass lets the event path run after every PASS_SLICE bytes.

The stream task stays in charge: its cancel scope (the liveness deadline, a stop) ends the wait
and takes the socket out of the set before httpx closes it; the end of the body, a socket error
or an exception of the handler wakes it with the outcome. Sockets are registered level-triggered,
so a socket with more than one read's worth of bytes is simply read again at the next round.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import sys
import time
from collections.abc import Callable

import trio

CHUNK = 65536
BULK_RCVBUF = 1 << 20  # a bulk socket's receive buffer (cameras/http.py sets it)
# a bulk read takes what a cadence brought at once (several frames of a fast camera: fewer reads)
BULK_CHUNK = 262144
_MAX_EVENTS = 1024
# Seconds between two passes over the bulk sockets. Each read costs the same whatever it holds,
# and a frame that a read cuts in two costs a copy more: the longer the cadence, the more whole
# frames per read (docs/performance.md, "What changed for the realistic load", has the measurements).
CADENCE = 0.5  # normally
MIN_CADENCE = 0.1  # the shortest: while audio is read (paced), or while a socket fills fast
MAX_CADENCE = 1.0  # the longest: one camera (each wake-up costs what tens of frames do)
BULK_PASS_READS = 64  # reads of one bulk socket in one pass, at most (a bound on one pass's work)
# bytes a pass reads between two checkpoints: an alarm's way through the daemon takes a few task
# hops, and each waits for the slice of the pass under way
PASS_SLICE = 32768

# A frame read on the cadence was not received when it is read: the kernel stamps each packet as it
# arrives (SO_TIMESTAMPNS, Linux: not in Python's socket module), and a read reports the stamp of
# the last packet it took, so a frame keeps the time it really arrived, not the time of the pass.
_SO_TIMESTAMPNS = 35 if sys.platform == "linux" else None
_TIMESPEC = struct.Struct("@qq")
_ANC_SIZE = socket.CMSG_SPACE(_TIMESPEC.size)

OnData = Callable[[bytes, float], None]  # the bytes, and when they arrived (trio's clock)


class _Follower:
    __slots__ = ("done", "eof", "error", "fd", "on_data", "paced", "stamped", "urgent", "watched")

    def __init__(self, fd: int, on_data: OnData, urgent: bool, watched: Callable[[], bool] | None) -> None:
        self.fd = fd
        self.paced = False  # a bulk socket that keeps the cadence short (audio: see follow)
        self.on_data = on_data
        self.urgent = urgent
        self.watched = watched  # a bulk socket read on arrival while this says so (a live view)
        self.stamped: socket.socket | None = None  # a bulk socket's own handle, for its stamps
        self.done = trio.Event()
        self.error: BaseException | None = None
        self.eof = False


class ReadMux:
    """`await nursery.start(mux.run)`, then each stream: `await mux.follow(fd, on_data, urgent=...)`."""

    def __init__(self, cadence: float = CADENCE, shortest: float = MIN_CADENCE) -> None:
        self.cadence = cadence
        self.shortest = min(shortest, cadence)
        self._urgent: select.epoll | None = None
        self._bulk: select.epoll | None = None
        self._followers: dict[int, _Follower] = {}
        self._bulk_count = 0
        self._paced = 0  # bulk sockets that keep the cadence at its shortest
        self._bulk_came = trio.Event()  # no cadence while no bulk socket is followed
        self._cadence_cap = MAX_CADENCE
        self.rounds = 0  # wake-ups (for benchmarks: reads per wake-up)
        self.reads = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        urgent, bulk = select.epoll(), select.epoll()
        self._urgent, self._bulk = urgent, bulk
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._serve_urgent, urgent)
                nursery.start_soon(self._serve_bulk, bulk)
                task_status.started()
        finally:
            self._urgent = self._bulk = None
            for f in list(self._followers.values()):
                self._end(f, None)  # the streams go on reading by themselves (`follow` returns False)
            urgent.close()
            bulk.close()

    async def _serve_urgent(self, ep: select.epoll) -> None:
        while True:
            await trio.lowlevel.wait_readable(ep.fileno())
            self.rounds += 1
            for fd, _ in ep.poll(0, _MAX_EVENTS):
                f = self._followers.get(fd)
                if f is not None:
                    if f.watched is not None and not f.watched():
                        self._move(f, urgent=False)  # nobody watches any more: back to the cadence
                        continue
                    self._read(f)

    def _move(self, f: _Follower, *, urgent: bool) -> None:
        """A bulk socket that is watched live is read on arrival, and back on the cadence after."""
        src, dst = (self._bulk, self._urgent) if urgent else (self._urgent, self._bulk)
        if src is None or dst is None or f.urgent == urgent:
            return
        with contextlib.suppress(OSError):
            src.unregister(f.fd)
        dst.register(f.fd, select.EPOLLIN)
        f.urgent = urgent
        self._bulk_count += -1 if urgent else 1
        self._bulk_came.set()

    def _next_cadence(self, busiest: int) -> float:
        """Few bulk sockets: longer between passes (up to MAX_CADENCE); but never so long that a
        socket's buffer fills between two passes (the camera would be held up)."""
        if self._paced:
            return self.shortest
        want = min(MAX_CADENCE, max(self.cadence, 1.0 / max(1, self._bulk_count)))
        if busiest > BULK_RCVBUF // 4:  # a fast camera: halve at once, come back slowly
            self._cadence_cap = max(self.shortest, self._cadence_cap / 2)
        elif busiest < BULK_RCVBUF // 16:
            self._cadence_cap = min(MAX_CADENCE, self._cadence_cap * 1.25)
        return min(want, self._cadence_cap)

    async def _serve_bulk(self, ep: select.epoll) -> None:
        tick = trio.current_time()
        followers = self._followers
        cadence = self.cadence
        while True:
            if not self._bulk_count:
                self._bulk_came = trio.Event()
                await self._bulk_came.wait()
            tick = max(tick + cadence, trio.current_time())  # no burst of passes to catch up
            await trio.sleep_until(tick)
            ready = ep.poll(0, _MAX_EVENTS)
            busiest = 0
            if ready:
                self.rounds += 1
                # one reading of both clocks for the pass: a kernel stamp (wall) minus this
                # offset is the bytes' arrival on trio's clock
                now = trio.current_time()
                offset = time.time() - now
                since = 0  # bytes read since the last checkpoint
                for fd, _ in ready:
                    if since >= PASS_SLICE:
                        since = 0
                        # a long pass (hundreds of cameras, half a second of frames each) must
                        # not hold up an alarm: the urgent sockets are read in between
                        await trio.lowlevel.checkpoint()
                        now = trio.current_time()
                        offset = time.time() - now
                    f = followers.get(fd)
                    if f is None or f.urgent:  # ended meanwhile (its number may be reused)
                        continue
                    got = 0
                    for _ in range(BULK_PASS_READS):
                        if followers.get(fd) is not f:
                            break  # ended
                        n = self._read_bulk(f, now, offset)
                        got += n
                        if n < BULK_CHUNK:
                            break  # drained: the next one
                    busiest = max(busiest, got)
                    since += got
                    if f.watched is not None and f.watched() and followers.get(fd) is f:
                        self._move(f, urgent=True)  # watched live: read as frames come
            cadence = self._next_cadence(busiest)

    def _read_bulk(self, f: _Follower, now: float, offset: float) -> int:
        """One read of up to BULK_CHUNK bytes, stamped with their arrival; how many bytes it read."""
        try:
            if f.stamped is not None:
                data, anc, _, _ = f.stamped.recvmsg(BULK_CHUNK, _ANC_SIZE)
                at = now
                if anc:
                    sec, nsec = _TIMESPEC.unpack_from(anc[0][2])
                    at = min(now, sec + nsec * 1e-9 - offset)
            else:
                data = os.read(f.fd, BULK_CHUNK)
                at = now
        except BlockingIOError:
            return 0
        except OSError as e:
            self._end(f, e)
            return 0
        return self._deliver(f, data, at)

    def _read(self, f: _Follower) -> int:
        """One read of up to CHUNK bytes to the stream's handler, as they arrive; how many bytes."""
        try:
            data = os.read(f.fd, CHUNK)
        except BlockingIOError:
            return 0
        except OSError as e:
            self._end(f, e)
            return 0
        return self._deliver(f, data, trio.current_time())

    def _deliver(self, f: _Follower, data: bytes, at: float) -> int:
        self.reads += 1
        if not data:
            f.eof = True
            self._end(f, None)
            return 0
        try:
            f.on_data(data, at)
        except Exception as e:  # the stream's own (ProtocolError, ...): its task raises it
            self._end(f, e)
        return len(data)

    def _end(self, f: _Follower, error: BaseException | None) -> None:
        if self._followers.get(f.fd) is f:
            del self._followers[f.fd]
            self._bulk_count -= not f.urgent
            self._paced -= f.paced
            ep = self._urgent if f.urgent else self._bulk
            if ep is not None:
                with contextlib.suppress(OSError):  # already closed: epoll dropped it by itself
                    ep.unregister(f.fd)
        if f.stamped is not None:
            f.stamped.close()  # our duplicate of the descriptor; httpx closes its own
            f.stamped = None
        f.error = error
        f.done.set()

    async def follow(
        self,
        fd: int,
        on_data: OnData,
        *,
        urgent: bool = True,
        watched: Callable[[], bool] | None = None,
        paced: bool = False,
    ) -> bool:
        """Feed what the socket `fd` sends to `on_data` until the peer closes it (True), or until
        this mux stops (False: nothing was lost; go on reading by other means). A socket error or
        an exception of `on_data` is raised here; a cancel takes the socket out of the set at once.
        `urgent`: read on arrival (events); else on the cadence (what is only recorded), or on
        arrival while `watched()` says someone watches it live. `paced`: keep passes at the
        shortest cadence while it is followed (a camera's audio and video are read in the same
        pass one after the other: what arrived of one is at most a cadence apart from the other).
        """
        ep = self._urgent if urgent else self._bulk
        if ep is None:
            return False
        if fd in self._followers:
            raise trio.BusyResourceError(f"fd {fd} is already followed")
        f = _Follower(fd, on_data, urgent, None if urgent else watched)
        if not urgent and _SO_TIMESTAMPNS is not None:
            f.stamped = _stamped(fd)
        try:
            ep.register(fd, select.EPOLLIN)
        except FileExistsError:  # a closed socket's number, still in the set: take it over
            ep.modify(fd, select.EPOLLIN)
        self._followers[fd] = f
        if not urgent:
            self._bulk_count += 1
            f.paced = paced
            self._paced += paced
            self._bulk_came.set()
        try:
            await f.done.wait()
        finally:
            if self._followers.get(fd) is f:  # cancelled: the socket is about to be closed
                self._end(f, None)
        if f.error is not None:
            raise f.error
        return f.eof


def _stamped(fd: int) -> socket.socket | None:
    """A handle of our own on the socket (a duplicate descriptor), with kernel receive stamps on;
    None where the platform will not stamp (reads are then stamped when they happen)."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        assert _SO_TIMESTAMPNS is not None
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        sock.setblocking(False)
    except OSError:
        sock.close()
        return None
    return sock
