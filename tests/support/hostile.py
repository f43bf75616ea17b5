"""Hostile and faulty peers for the drills (bench/drill_hostile.py) and their short versions in the
suite, written apart from the project's simulator: they do what a broken or malicious device does.

- `StormCamera`: an openapi (seed 001) camera whose motion level alternates around its threshold
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

from tests.support.camfake import JPEG, FakeCam


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
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._conn, listeners)

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
    import resource, socket, sys, time
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    socks = []
    for i in range(count):
        try:
            s = socket.create_connection((host, port), timeout=2)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            pass
    print(len(socks), flush=True)
    end = time.monotonic() + hold
    i = 0
    while time.monotonic() < end:  # a header byte a second on each: never a whole request
        for s in socks:
            try:
                s.send(b"GET /healthz HTTP/1.1\\r\\nX: "[i : i + 1] or b"a")
            except OSError:
                pass
        i += 1
        time.sleep(1)
    """
)


def slow_connections(host: str, port: int, count: int, hold: float) -> subprocess.Popen[str]:
    """A child process that opens `count` connections and drips a header byte a second on each for
    `hold` seconds; its first line of output is how many connections it opened."""
    return subprocess.Popen(
        [sys.executable, "-c", _SLOW, host, str(port), str(count), str(hold)],
        stdout=subprocess.PIPE,
        text=True,
    )
