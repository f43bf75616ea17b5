"""Hostile and faulty peers for the drills (bench/drill_hostile.py) and their short versions in the
suite, written apart from the project's simulator: they do what a broken or malicious device does.

- `StormCamera`: an `openapi` (IP Camera Open API) camera whose motion level alternates around its threshold
  `rate` times a second (a faulty sensor), optionally under a new `group=N` in every part; its
  video is a plain MJPEG stream.
- `credentials_seen`: what reached a redirect sink of a camera's credentials.
- `slow_connections`: a child process holding many slow HTTP connections to an endpoint.
- `rss_mib`: this process's resident memory.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import trio

from tests.support.camfake import JPEG, FakeCam, serve_loopback


@dataclass
class StormCamera:
    rate: float = 1000.0  # motion parts a second
    fps: float = 10.0
    new_groups: bool = False  # a new `group=N` in every part (unbounded names)
    quiet: float = 0.0  # > 0: alternate in bursts of 50 ms, this many seconds apart
    storming: bool = True
    port: int = 0
    parts: int = 0
    frames: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await serve_loopback(self, self._conn, task_status)

    async def _conn(self, stream: trio.SocketStream) -> None:
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                head += chunk
            path = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
            if path == "/video.mjpg":
                await self._video(stream)
            elif path == "/motion.cgi":
                await self._motion(stream)
            else:
                await stream.send_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await stream.aclose()

    async def _video(self, stream: trio.SocketStream) -> None:
        await stream.send_all(
            b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=b\r\n\r\n"
        )
        part = b"--b\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n" % (len(JPEG), JPEG)
        next_at = trio.current_time()
        while True:
            await stream.send_all(part)
            self.frames += 1
            next_at += 1 / self.fps
            await trio.sleep_until(next_at)

    async def _motion(self, stream: trio.SocketStream) -> None:
        await stream.send_all(
            b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=mdb\r\n\r\n"
        )
        n = 0
        batch = max(1, int(self.rate / 100))  # parts per 10 ms wake-up
        next_at = t0 = trio.current_time()
        while True:
            out = []
            phase = (trio.current_time() - t0) % (self.quiet + 0.05) if self.quiet > 0 else 0.0
            flipping = self.storming and phase < 0.05
            for _ in range(batch):
                level = 60 if n % 2 == 0 and flipping else 10
                group = n if self.new_groups else 0
                body = b"group=%d;level=%d;threshold=50;\r\n" % (group, level)
                out.append(
                    b"--mdb\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s\r\n"
                    % (len(body), body)
                )
                n += 1
            await stream.send_all(b"".join(out))
            self.parts += batch
            next_at += batch / self.rate
            await trio.sleep_until(next_at)


def credentials_seen(sink: FakeCam, username: str, password: str) -> int:
    """Requests at a sink that carried any of a camera's credentials (Basic, Digest, query)."""
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    n = 0
    for r in sink.requests:
        auth = r.headers.get("authorization", "")
        if password in str(r.query) or "pwd" in r.query or basic in auth or auth.startswith("Digest "):
            n += 1
    return n


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


_SLOW = textwrap.dedent(
    """
    import errno, resource, socket, sys, time
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))
    count, hold = int(sys.argv[1]), float(sys.argv[2])
    host, port = sys.stdin.readline().split()  # the target comes later: the parent may lower its limits
    port = int(port)

    def connect():  # never waits: a server that does not accept leaves it pending in its backlog
        try:
            s = socket.socket()
            s.setblocking(False)
        except OSError:
            return None
        if s.connect_ex((host, port)) not in (0, errno.EINPROGRESS):
            s.close()
            return None
        return s

    PENDING = (errno.ENOTCONN, errno.EAGAIN, errno.EINPROGRESS)

    socks = [connect() for _ in range(count)]
    print(sum(s is not None for s in socks), flush=True)
    end = time.monotonic() + hold
    head = b"GET /healthz HTTP/1.1\\r\\nX-Pad: "
    i = 0
    next_byte = time.monotonic()
    while time.monotonic() < end:
        # every 0.1 s: one the server closed is opened again at once; every second: a header byte
        # on each (never a whole request)
        drip = time.monotonic() >= next_byte
        if drip:
            next_byte += 1
            i += 1
        for k, s in enumerate(socks):
            alive = s is not None
            if alive:
                try:
                    alive = s.recv(4096) != b""
                except OSError as e:
                    alive = e.errno in PENDING
            if alive and drip:
                try:
                    s.send(head[i : i + 1] or b"a")
                except OSError as e:
                    alive = e.errno in PENDING
            if not alive:
                if s is not None:
                    s.close()
                socks[k] = connect()
        time.sleep(0.1)
    """
)


def slow_connections(count: int, hold: float) -> subprocess.Popen[str]:
    """A child process that, once given "host port" on its stdin, opens `count` connections and
    drips a header byte a second on each for `hold` seconds; its first line of output is how many
    connections it opened. Start it before lowering this process's descriptor limits."""
    return subprocess.Popen(
        [sys.executable, "-c", _SLOW, str(count), str(hold)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
