"""A network namespace behind a veth pair, so that a camera's network can go silent (no FIN, no RST).

    with netns() as ns:                      # skip the test when netns_unavailable() says why
        sim = await start_netsim(ns, {...})  # the simulator as a process inside the namespace
        await ns.link(False)                 # every packet between the two ends is dropped
        await ns.link(True)

The veth pair is a link inside this machine: addresses come from 198.18.0.0/15 (RFC 2544, set aside
for network tests and never routed), a random /30 per namespace. Silence: the namespace's end of
the pair is set down, so the host's end loses its carrier and drops what it sends, and nothing comes
back (`tc netem loss 100%` does the same where the sch_netem module exists; on this kernel it does
not).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from recorderd.core import events as ev

if TYPE_CHECKING:
    from recorderd.daemon.lifecycle import Daemon
    from tests.support.simharness import Watch

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class NetNs:
    name: str
    host_if: str  # in this (the root) namespace
    ns_if: str  # inside the namespace
    host_addr: str
    ns_addr: str

    def exec_args(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    async def link(self, up: bool) -> None:
        """Set the namespace's end of the pair up or down (down: silence both ways)."""
        await trio.run_process(self.exec_args("ip", "link", "set", self.ns_if, "up" if up else "down"))


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def netns_unavailable() -> str | None:
    """Why no namespace can be made here, or None."""
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    if os.geteuid() != 0:
        return "creating a network namespace needs root"
    try:
        with netns():
            pass
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        return f"cannot create a network namespace with a veth pair: {err.strip()}"
    return None


@contextmanager
def netns() -> Iterator[NetNs]:
    tag = f"{os.getpid() % 100000}{random.randrange(1000):03d}"
    net = random.randrange(2, 256)
    sub = 4 * random.randrange(64)
    ns = NetNs(f"rdtest{tag}", f"rdh{tag}", f"rdn{tag}", f"198.18.{net}.{sub + 1}", f"198.18.{net}.{sub + 2}")
    _ip("netns", "add", ns.name)
    try:
        _ip("link", "add", ns.host_if, "type", "veth", "peer", "name", ns.ns_if)
        try:
            _ip("link", "set", ns.ns_if, "netns", ns.name)
            _ip("addr", "add", f"{ns.host_addr}/30", "dev", ns.host_if)
            _ip("link", "set", ns.host_if, "up")
            _ip("netns", "exec", ns.name, "ip", "addr", "add", f"{ns.ns_addr}/30", "dev", ns.ns_if)
            _ip("netns", "exec", ns.name, "ip", "link", "set", ns.ns_if, "up")
            _ip("netns", "exec", ns.name, "ip", "link", "set", "lo", "up")
            yield ns
        finally:
            subprocess.run(["ip", "link", "del", ns.host_if], capture_output=True)
    finally:
        subprocess.run(["ip", "netns", "del", ns.name], capture_output=True)


@asynccontextmanager
async def netsim(ns: NetNs, cameras: dict[str, dict[str, Any]]) -> AsyncIterator[dict[str, dict[str, Any]]]:
    """The simulator as a process inside the namespace, listening on its address: yields each
    camera's `recorderd simulate` entry (name, url, username, password, ...)."""
    args = ns.exec_args(sys.executable, "-m", "tests.support.netsim", ns.ns_addr, json.dumps(cameras))
    proc = await trio.lowlevel.open_process(args, stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    try:
        entries: dict[str, dict[str, Any]] = {}
        buf = b""
        with trio.fail_after(30):
            while len(entries) < len(cameras):
                chunk = await proc.stdout.receive_some(65536)
                if not chunk:
                    raise RuntimeError("the simulator in the namespace exited")
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    entry = json.loads(line)
                    entries[entry["name"]] = entry
        yield entries
    finally:
        proc.kill()
        with trio.CancelScope(shield=True):
            await proc.wait()


@dataclass(frozen=True)
class Outage:
    lost: float  # seconds from silence until the daemon said disconnected
    reason: str  # what it said
    back: float  # seconds from the link's return until connected again


async def silence(ns: NetNs, daemon: Daemon, watch: Watch, camera: str, *, timeout: float = 120.0) -> Outage:
    """Silence the namespace's network until the daemon says `camera` is disconnected, then bring
    it back until it says connected again; the two waits measured on trio's clock."""
    await ns.link(False)
    t0 = trio.current_time()
    await watch.next(ev.Connected, camera, connected=False, timeout=timeout)
    lost = trio.current_time() - t0
    assert daemon.engine is not None
    reason = daemon.engine.cameras[camera].stats.last_error
    await ns.link(True)
    t1 = trio.current_time()
    await watch.next(ev.Connected, camera, connected=True, timeout=timeout)
    return Outage(lost, reason, trio.current_time() - t1)
