"""No self-triggering: a relay action never starts an incident on its own camera.

IPCamCGI's Trigger1/Trigger2 are switched through iocontrol.cgi (§5.1.2) and reported in every
frame header (§4.1.2), where the daemon reads them as input:1/2. recorderd refuses, in
check-config, a camera whose output:<n> action drives a bit one of its triggers reads (see
tests/test_config.py "ipcamcgi relay loop"); these show why and that the refusal costs nothing:
a single pulse from a camera whose triggers do not read it starts no incident, and the combination
the config refuses really loops when forced past the check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from recorderd.config.model import ActionRule
from recorderd.core import events as ev
from recorderd.daemon.lifecycle import Daemon
from recorderd.sim import open_simulator
from tests.support.simharness import Watch, daemon_config, daemon_raw, rig, sim_config


def relay_changes(cam: Any) -> list[tuple[bool, str]]:
    return [(e.on, e.source) for e in cam.changes if e.kind == "output" and e.index == 1]


async def test_a_single_pulse_starts_no_incident(tmp_path: Path) -> None:
    extra = {"cam": {"triggers": ["motion", "input:2"], "record": {"mode": "off"}, "actions": ["output:1"]}}
    async with rig(tmp_path, {"cam": {"dialect": "ipcamcgi"}}, extra) as r:
        cam = r.sim["cam"]
        await r.watch.next(ev.Connected, "cam", connected=True)
        await cam.set_trigger("motion", True)
        start = await r.watch.next(ev.IncidentEvent, "cam", type="start")
        # the daemon pulses the relay: Trigger1 on, 1 s, off, through iocontrol.cgi
        with trio.fail_after(10):
            await cam.wait_until(lambda: relay_changes(cam) == [(True, "control"), (False, "control")])
        assert [c.params for c in cam.calls("iocontrol")] == [{"Trigger1": "1"}, {"Trigger1": "0"}]
        await cam.set_trigger("motion", False)
        await r.watch.next(ev.IncidentEvent, "cam", type="end", id=start.id)
        # frames carried Trigger1 = 1 for a second; nothing read it as a trigger, nothing pulsed again
        with trio.move_on_after(1.5):
            await r.watch.next(ev.IncidentEvent, "cam", type="start")
        assert [e.type for e in r.watch.incidents("cam")] == ["start", "end"]
        assert len(relay_changes(cam)) == 2


async def test_the_refused_combination_loops(tmp_path: Path) -> None:
    """Forced past check-config (model_copy does not validate), input:1 + output:1 pulses for ever:
    each pulse's Trigger1 edge is a new incident, which pulses again."""
    async with open_simulator(sim_config({"cam": {"dialect": "ipcamcgi"}})) as sim:
        extra = {"triggers": ["input:1", "motion"], "record": {"mode": "off"}}
        cfg = daemon_config(daemon_raw(sim, tmp_path / "state", {"cam": extra}))
        # on 300 ms, off 700 ms, on again: the second edge comes after the first incident ended
        rule = ActionRule.model_validate({"target": "output:1", "pulses": ["300ms", "700ms", "300ms"]})
        cam = cfg.cameras["cam"].model_copy(update={"actions": [rule]})
        daemon = Daemon(cfg.model_copy(update={"cameras": {"cam": cam}}))
        watch = Watch(daemon.bus.subscribe("test", 10_000))
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            await watch.next(ev.Connected, "cam", connected=True)
            await sim.set_trigger("cam", "motion", True)
            await watch.next(ev.IncidentEvent, "cam", type="start")
            await sim.set_trigger("cam", "motion", False)
            later = [await watch.next(ev.IncidentEvent, "cam", type="start", timeout=15) for _ in range(2)]
            assert [s.trigger for s in later] == ["input:1", "input:1"]
            nursery.cancel_scope.cancel()
