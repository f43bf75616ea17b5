"""A camera whose network goes silent (no FIN, no RST) is reported disconnected within 30 s and
recovered when the network returns, though its only stream is a quiet IO monitor that no read
deadline may end: TCP keepalive finds the dead peer. The simulator runs as a process in its own
network namespace behind a veth pair whose far end is set down (tests/support/netns.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from tests.support.netns import netns, netns_unavailable, netsim, silence
from tests.support.simharness import Watch

REPORTED_WITHIN = 30.0

pytestmark = pytest.mark.skipif(
    (why := netns_unavailable()) is not None, reason=f"no network namespace: {why}"
)


def config(state: Path, entry: dict[str, Any]) -> Config:
    cam = {
        "dialect": entry["dialect"],
        "url": entry["url"],
        "username": entry["username"],
        "password": entry["password"],
        "triggers": ["input:1"],
        "record": {"mode": "off"},  # the IO monitor alone: quiet, keepalive is its only liveness
    }
    raw = {"daemon": {"state_dir": str(state), "http_listen": ""}, "cameras": {"cam": cam}}
    return Config.model_validate(raw, context={"targets": set(), "mqtt": False})


async def test_a_silent_network_is_a_disconnect_within_30s_and_recovers(tmp_path: Path) -> None:
    with netns() as ns:
        async with netsim(ns, {"cam": {"dialect": "vapix", "audio": "none"}}) as sims:
            daemon = Daemon(config(tmp_path / "state", sims["cam"]))
            watch = Watch(daemon.bus.subscribe("test", 1000))
            async with trio.open_nursery() as nursery:
                await nursery.start(daemon.run)
                await watch.next(ev.Connected, "cam", connected=True, timeout=30)
                assert daemon.engine is not None
                assert daemon.engine.cameras["cam"].status()["streams"]["io"]["liveness"] == "TCP keepalive"
                out = await silence(ns, daemon, watch, "cam", timeout=REPORTED_WITHIN + 15)
                print(
                    f"silent network: disconnected after {out.lost:.1f} s ({out.reason}); back after {out.back:.1f} s"
                )
                assert out.lost <= REPORTED_WITHIN, out
                assert out.back <= 15, out
                nursery.cancel_scope.cancel()
