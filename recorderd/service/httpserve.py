"""hypercorn's HTTP/1.1 server on trio with a cap on open connections.

hypercorn accepts every connection it is offered, and each holds a descriptor: 1100 slow clients
took every descriptor of a soft limit of 1024, and recording files then failed to open. Here a
waiting connection is accepted only into one of `max_connections` places: a free one, else the
place of the oldest connection that has not sent a whole request head yet (a client dripping its
headers), else it waits in the kernel's listen backlog, holding no descriptor of ours. The connections themselves are hypercorn's own `TCPServer` (its timeouts and h11 protocol),
as `hypercorn.trio.serve` runs them; ASGI lifespan events are not sent (the app has none).
"""

from __future__ import annotations

import errno
import resource
import socket
from functools import partial

import trio
from hypercorn.config import Config
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import repr_socket_addr, wrap_app
from starlette.types import ASGIApp

# bound: open connections of the endpoint (a status page, a scraper, a few scripts need a handful)
DEFAULT_MAX_CONNECTIONS = 64
# descriptors the endpoint leaves to the cameras, recorders, index and outbox, however it is set
FD_RESERVE = 256


def connection_cap(wanted: int, cameras: int = 0) -> int:
    """`wanted`, lowered so that the endpoint's connections leave FD_RESERVE descriptors plus ten
    per camera (its streams, files, index rows) under the soft RLIMIT_NOFILE: at least 4."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(4, min(wanted, soft - FD_RESERVE - 10 * cameras))


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit (the usual soft 1024 is low for a daemon
    with hundreds of streams and files); returns (soft, hard) as they are afterwards. A sandbox
    that forbids setrlimit (systemd's @resources filter: the unit sets LimitNOFILE instead)
    leaves them as they were."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (OSError, ValueError):
            return soft, hard
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class _Places:
    """The endpoint's connection places: at most `limit` open at once, oldest first in `open`."""

    def __init__(self, limit: int) -> None:
        self.free = trio.Semaphore(max(1, limit))
        self.open: dict[_Slot, None] = {}  # bound: `limit` entries (one per place taken)

    async def take(self) -> None:
        """A place for a connection that is waiting: a free one, else the oldest connection that
        never sent a whole request head gives up its own (a client dripping its headers cannot
        keep a real request out); else wait until one closes."""
        while True:
            try:
                self.free.acquire_nowait()
                return
            except trio.WouldBlock:
                pass
            victim = next((slot for slot in self.open if not slot.asked), None)
            if victim is None:
                await self.free.acquire()
                return
            await victim.aclose()  # its server task sees the stream closed and ends

    def release(self, slot: _Slot) -> None:
        if self.open.pop(slot, False) is None:
            self.free.release()


class _Slot(trio.abc.HalfCloseableStream):
    """An accepted connection (a trio SocketStream) that gives its place back when closed."""

    def __init__(self, sock: trio.socket.SocketType, places: _Places) -> None:
        self._stream = trio.SocketStream(sock)
        self.socket = sock
        self._places = places
        self.asked = False  # a whole request head came (a blank line)
        self._tail = b""
        places.open[self] = None

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self._stream.receive_some(max_bytes)
        if not self.asked:
            seen = self._tail + bytes(data[:4096])
            self.asked = b"\r\n\r\n" in seen or b"\n\n" in seen
            self._tail = seen[-3:]
        return data

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._places.release(self)


class _CappedListener(trio.abc.Listener[_Slot]):
    def __init__(self, sock: socket.socket, places: _Places) -> None:
        sock.setblocking(False)
        self.socket = sock
        self._places = places

    async def accept(self) -> _Slot:
        while True:
            await trio.lowlevel.wait_readable(self.socket)  # a connection waits: find it a place
            await self._places.take()
            try:
                sock, _ = self.socket.accept()  # ready: no waiting
            except BlockingIOError:  # another listener's task took it
                self._places.free.release()
                continue
            except OSError as e:
                self._places.free.release()
                # descriptors exhausted all the same, or the peer gave up: wait, never spin
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    await trio.sleep(0.1)
                    continue
                if e.errno == errno.ECONNABORTED:
                    continue
                raise
            except BaseException:
                self._places.free.release()
                raise
            sock.setblocking(False)
            return _Slot(trio.socket.from_stdlib_socket(sock), self._places)

    async def aclose(self) -> None:
        trio.lowlevel.notify_closing(self.socket)
        self.socket.close()
        await trio.lowlevel.checkpoint()


async def serve_capped(
    app: ASGIApp,
    config: Config,
    max_connections: int,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on `config.bind` until cancelled; started() with the bound URLs."""
    sockets = config.create_sockets()
    places = _Places(max_connections)
    listeners: list[_CappedListener] = []
    binds: list[str] = []
    for sock in sockets.insecure_sockets:
        sock.listen(config.backlog)
        listeners.append(_CappedListener(sock, places))
        binds.append(f"http://{repr_socket_addr(sock.family, sock.getsockname())}")
    context = WorkerContext(None)
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")  # type: ignore[arg-type]
    handler = partial(TCPServer, wrapped, config, context, ConnectionState({}))
    try:
        async with trio.open_nursery() as connections:
            task_status.started(binds)
            await trio.serve_listeners(handler, listeners, handler_nursery=connections)
    finally:
        for listener in listeners:
            listener.socket.close()
