"""A long relay pattern through the daemon: one attempt, not cut at a fixed deadline and replayed.

The outbox bounds an attempt by its sender's `timeout_for(action)`; the daemon wraps every sender
in a SenderSlot (a reload swaps the inner one), which must forward it. A 50 s pulse on a MOVE
camera (its output is switched on, then off, by separate requests) takes 85 s of budget; the bare
sender's fixed bound would cut it at 36 s. Runs on a MockClock ten times faster than real time,
so the minute of virtual time costs about six seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.sim import open_simulator
from tests.support.simharness import Watch, sim_config

PULSE = 50.0


@pytest.fixture
def fast_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(rate=10.0)


async def test_a_50s_relay_pattern_completes_in_one_attempt(
    tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    async with open_simulator(sim_config({"gate": {"dialect": "move"}})) as sim:
        cam: dict[str, Any] = sim["gate"].recorderd_camera()
        cam.update(
            {
                "triggers": ["motion"],
                "record": {"mode": "off"},
                "actions": [{"target": "output:1", "pulses": [f"{PULSE:g}s"]}],
            }
        )
        raw = {"daemon": {"state_dir": str(tmp_path / "state"), "http_listen": ""}, "cameras": {"gate": cam}}
        cfg = Config.model_validate(raw, context={"targets": set(), "mqtt": False})
        daemon = Daemon(cfg)
        watch = Watch(daemon.bus.subscribe("test", 10_000))
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            await watch.next(ev.Connected, "gate", connected=True, timeout=30)
            await sim.set_trigger("gate", "motion", True)
            start = await watch.next(ev.IncidentEvent, "gate", type="start", timeout=10)
            await sim.set_trigger("gate", "motion", False)
            relay = sim["gate"]
            seen: dict[int, float] = {}  # number of output calls -> virtual time first seen
            with trio.fail_after(PULSE + 60):  # virtual seconds
                while len(relay.calls("output")) < 2:
                    seen.setdefault(len(relay.calls("output")), trio.current_time())
                    await trio.sleep(0.25)
            seen.setdefault(2, trio.current_time())
            # nothing more for another minute: no second attempt replays the pulse
            await trio.sleep(60)
            calls = relay.calls("output")
            assert [c.params["action"] for c in calls] == ["1:/", "1:\\"], calls
            assert seen[2] - seen[1] >= PULSE - 0.5, seen  # on, 50 s, off: not cut short
            assert daemon.stages is not None and daemon.stages.alarms.outbox is not None
            status = await daemon.stages.alarms.outbox.status()
            assert status.counts.get("camera:gate") == {"done": 1}, (start.id, status.counts)
            daemon.stop()
