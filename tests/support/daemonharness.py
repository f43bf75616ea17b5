"""`recorderd run` as a subprocess: its config as TOML, a fake NOTIFY_SOCKET, its log lines; waits
with deadlines."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from tests.support.wait import Changes

# ---- TOML for test configs ------------------------------------------------------------------------


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {v!r}")


def toml(doc: dict[str, dict[str, Any]]) -> str:
    """Tables of plain values, nested dicts inline. A table is named as written (`daemon`,
    `cameras.yard`); `cameras` and `targets` may also hold one table per name, as a config's data
    does (`{"cameras": {"yard": {...}}}`)."""
    out = []
    for table, values in doc.items():
        nested = table in ("cameras", "targets") and all(isinstance(v, dict) for v in values.values())
        for name, body in values.items() if nested else [(None, values)]:
            out.append(f"[{table}.{name}]" if name is not None else f"[{table}]")
            out += [f"{k} = {_value(v)}" for k, v in body.items()]
            out.append("")
    return "\n".join(out)


# ---- a fake service manager -------------------------------------------------------------------------


@dataclass
class NotifyListener:
    """The NOTIFY_SOCKET end: an abstract datagram socket; every datagram kept with its arrival time."""

    name: str = field(default_factory=lambda: f"recorderd-test-{uuid.uuid4().hex}")
    messages: list[tuple[float, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        raw.bind(b"\0" + self.name.encode())
        self.sock = trio.socket.from_stdlib_socket(raw)
        self.changes = Changes()

    @property
    def address(self) -> str:
        return "@" + self.name

    async def run(self) -> None:
        while True:
            data = await self.sock.recv(65536)
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))
            self.changes.notify()

    async def wait_for(
        self, pred: Callable[[dict[str, str]], bool], *, after: int = 0, timeout: float = 15.0
    ) -> int:
        """Index of the first message at or after `after` that satisfies `pred`."""

        def first() -> int | None:
            return next((i for i in range(after, len(self.messages)) if pred(self.messages[i][1])), None)

        await self.changes.until(lambda: first() is not None, timeout, f"a datagram after #{after}")
        found = first()
        assert found is not None
        return found

    def since(self, i: int) -> list[dict[str, str]]:
        return [m for _, m in self.messages[i:]]

    def close(self) -> None:
        self.sock.close()


# ---- the daemon process -------------------------------------------------------------------------------


@dataclass
class DaemonProcess:
    proc: trio.Process
    lines: list[str] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)
    ended: bool = False

    async def pump(self) -> None:
        assert self.proc.stderr is not None
        buf = b""
        async for chunk in self.proc.stderr:
            buf += chunk
            *done, buf = buf.split(b"\n")
            self.lines += [d.decode(errors="replace") for d in done]
            self.changes.notify()
        self.ended = True
        self.changes.notify()

    async def wait_line(self, needle: str, *, after: int = 0, timeout: float = 15.0) -> int:
        """Index of the first log line at or after `after` that holds `needle`."""

        def first() -> int | None:
            return next((i for i in range(after, len(self.lines)) if needle in self.lines[i]), None)

        await self.changes.until(lambda: first() is not None or self.ended, timeout, repr(needle))
        found = first()
        if found is None:
            raise AssertionError(f"daemon exited before {needle!r}; log:\n{self.log}")
        return found

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def send(self, sig: int) -> None:
        self.proc.send_signal(sig)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 25.0) -> int:
        self.proc.send_signal(sig)
        with trio.fail_after(timeout):
            return await self.proc.wait()


ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def run_daemon(
    config: Path,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    *,
    block_loop: float | None = None,
) -> AsyncIterator[DaemonProcess]:
    """`recorderd run -c config [args]`, its stderr read line by line; killed on leaving the block
    if it still runs. block_loop=S: SIGUSR2 blocks its event loop for S seconds
    (tests/support/blocking_run.py)."""
    cli = ["-m", "recorderd"] if block_loop is None else ["-m", "tests.support.blocking_run", f"{block_loop}"]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    proc = await trio.lowlevel.open_process(
        [sys.executable, *cli, "run", "-c", str(config), *(args or [])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
    )
    d = DaemonProcess(proc)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(d.pump)
            yield d
            nursery.cancel_scope.cancel()
    finally:
        if proc.returncode is None:
            proc.kill()
            with trio.CancelScope(shield=True):
                await proc.wait()
