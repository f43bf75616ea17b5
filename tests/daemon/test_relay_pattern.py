"""A long relay pattern through the daemon: one attempt, not cut at a fixed deadline and replayed.

The outbox bounds an attempt by its sender's `timeout_for(action)`; the daemon wraps every sender
in a SenderSlot (a reload swaps the inner one), which must forward it. A 50 s pulse on a MOVE
camera (its output is switched on, then off, by separate requests) takes 85 s of budget; the bare
sender's fixed bound would cut it at 36 s. Runs on a MockClock ten times faster than real time,
so the pulse's 50 s of virtual time cost about five seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from recorderd.actions.outbox import Action, OutboxStore
from recorderd.actions.runtime import outbox_path
from recorderd.config.model import Config
from recorderd.core import events as ev
from recorderd.sim import open_simulator
from tests.support.simharness import daemon_config, running, sim_config
from tests.support.wait import wait_until

PULSE = 50.0


def done_rows(cfg: Config) -> list[Action]:
    store = OutboxStore(outbox_path(cfg))
    try:
        return store.by_state("done", target="camera:gate")
    finally:
        store.close()


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
        cfg = daemon_config(raw)
        async with running(cfg) as (daemon, watch):
            await watch.next(ev.Connected, "gate", connected=True, timeout=30)
            await sim.set_trigger("gate", "motion", True)
            start = await watch.next(ev.IncidentEvent, "gate", type="start", timeout=10)
            await sim.set_trigger("gate", "motion", False)
            relay = sim["gate"]
            with trio.fail_after(PULSE + 60):  # virtual seconds; the simulator wakes its waiters
                await relay.wait_until(lambda: len(relay.calls("output")) >= 1)  # on every request
                on_at = trio.current_time()
                await relay.wait_until(lambda: len(relay.calls("output")) >= 2)
                off_at = trio.current_time()
            assert daemon.stages is not None and daemon.stages.alarms.outbox is not None
            outbox = daemon.stages.alarms.outbox

            async def recorded() -> bool:  # the outcome is committed just after the "off" returns
                return (await outbox.status()).counts.get("camera:gate") == {"done": 1}

            await wait_until(recorded, 10, "the attempt's outcome", 0.25)
            calls = relay.calls("output")
            assert [c.params["action"] for c in calls] == ["1:/", "1:\\"], calls
            assert off_at - on_at >= PULSE - 0.5, (on_at, off_at)  # on, 50 s, off: not cut short
            # done in one attempt: a done row is never claimed again, so nothing replays the pulse
            done = await trio.to_thread.run_sync(done_rows, cfg)
            assert [r.attempts for r in done] == [1], (start.id, done)
