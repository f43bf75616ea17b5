"""hypercorn's HTTP/1.1 server on trio with a cap on open connections.

hypercorn accepts every connection it is offered, and each holds a descriptor: 1100 slow clients
took every descriptor of a soft limit of 1024, and recording files then failed to open. Here the
accept loop takes a connection only while fewer than `max_connections` are open; the rest wait in
the kernel's listen backlog (and beyond it are refused by the kernel), holding no descriptor of
ours. The connections themselves are hypercorn's own `TCPServer` (its timeouts and h11 protocol),
as `hypercorn.trio.serve` runs them; ASGI lifespan events are not sent (the app has none).
"""

from __future__ import annotations

import errno
import resource
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


class _Slot(trio.abc.HalfCloseableStream):
    """An accepted connection (a trio SocketStream) that gives its place back when closed."""

    def __init__(self, sock: trio.socket.SocketType, free: trio.Semaphore) -> None:
        self._stream = trio.SocketStream(sock)
        self.socket = sock
        self._free: trio.Semaphore | None = free

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self._stream.receive_some(max_bytes)

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            free, self._free = self._free, None
            if free is not None:
                free.release()


class _CappedListener(trio.abc.Listener[_Slot]):
    def __init__(self, sock: trio.socket.SocketType, free: trio.Semaphore) -> None:
        self.socket = sock
        self._free = free

    async def accept(self) -> _Slot:
        await self._free.acquire()
        try:
            while True:
                try:
                    sock, _ = await self.socket.accept()
                except OSError as e:
                    # descriptors exhausted all the same, or the peer gave up: wait, never spin
                    if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                        await trio.sleep(0.1)
                        continue
                    if e.errno == errno.ECONNABORTED:
                        continue
                    raise
                return _Slot(sock, self._free)
        except BaseException:
            self._free.release()
            raise

    async def aclose(self) -> None:
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
    free = trio.Semaphore(max(1, max_connections))
    listeners: list[_CappedListener] = []
    binds: list[str] = []
    for sock in sockets.insecure_sockets:
        sock.listen(config.backlog)
        listeners.append(_CappedListener(trio.socket.from_stdlib_socket(sock), free))
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
