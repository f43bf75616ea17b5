"""50 simulated cameras, one of them flapping (closing mid-frame every few frames and resetting):
the other 49 keep their frame rate and each gets its incident, exactly one, start and end."""

from __future__ import annotations

from pathlib import Path

import trio

from recorderd.core import events as ev
from tests.support.simharness import rig

N = 50
FPS = 5.0


async def test_fifty_cameras_one_flapping(tmp_path: Path) -> None:
    names = [f"c{i:02d}" for i in range(N)]
    flap = names[0]
    sims = {n: {"dialect": "vapix", "fps": FPS, "audio": "none", "event_interval": "1s"} for n in names}
    sims[flap] = {**sims[flap], "faults": {"close_after": 2}}
    cams = {n: {"triggers": ["motion"], "read_timeout": "2s"} for n in names}
    async with rig(tmp_path, sims, cams) as r:
        assert r.daemon.engine is not None
        engine = r.daemon.engine
        steady = names[1:]
        with trio.fail_after(30):
            for n in steady:
                await r.watch.next(ev.Connected, n, connected=True, timeout=30)
        # frame rate over a measured window: what each camera received against what it was sent
        before = {n: (engine.cameras[n].stats.frames, r.sim[n].frames_sent) for n in steady}
        t0 = trio.current_time()
        await trio.sleep(4.0)
        span = trio.current_time() - t0
        worst = min(engine.cameras[n].stats.frames - before[n][0] for n in steady) / span
        lost = max(
            (r.sim[n].frames_sent - before[n][1]) - (engine.cameras[n].stats.frames - before[n][0])
            for n in steady
        )
        print(
            f"\nslowest {worst:.2f} fps, lost {lost}, flapper reconnects {engine.cameras[flap].stats.reconnects}"
        )
        assert worst >= FPS * 0.8, f"slowest camera got {worst:.2f} fps"
        assert lost <= 2, f"a camera fell {lost} frames behind what was sent"
        assert engine.cameras[flap].stats.reconnects >= 2  # it did flap meanwhile
        # incidents: every steady camera gets exactly one, start and end
        for n in steady:
            await r.sim.set_trigger(n, "motion", True)
        for n in steady:
            await r.watch.next(ev.IncidentEvent, n, type="start", timeout=15)
        for n in steady:
            await r.sim.set_trigger(n, "motion", False)
        for n in steady:
            await r.watch.next(ev.IncidentEvent, n, type="end", timeout=15)
        for n in steady:
            assert [e.type for e in r.watch.incidents(n)] == ["start", "end"], n
        assert r.watch.incidents(flap) == []
