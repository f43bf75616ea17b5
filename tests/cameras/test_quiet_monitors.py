"""A quiet event monitor is healthy: the IO monitors (vapix, openapi) and MOVE's eventdata monitor
speak at connect and on change only, and stay on one connection for 90 s of silence (nine
read timeouts), asked for the state every 30 s, then still report a change. The long version is
bench/drill_liveness.py quiet (10 minutes).

Virtual time: a MockClock running 15 times faster than the wall (sockets and the kernel's TCP
keepalive stay real)."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from recorderd.core import events as ev
from tests.support.simharness import rig

DIALECTS = ("vapix", "openapi", "move")
QUIET = 90.0  # virtual seconds: nine read timeouts, three state queries


def state_queries(targets: list[str]) -> int:
    return sum("checkactive=" in t or "action=get" in t for t in targets)


async def test_quiet_monitors_stay_on_one_connection(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    mock_clock.rate = 15.0
    sims = {d: {"dialect": d} for d in DIALECTS}
    cams = {d: {"triggers": ["input:1"], "record": {"mode": "off"}, "read_timeout": "10s"} for d in DIALECTS}
    async with rig(tmp_path, sims, cams) as r:
        for d in DIALECTS:
            await r.watch.next(ev.Connected, d, connected=True, timeout=60)
        t0 = trio.current_time()
        with trio.move_on_after(QUIET):  # whatever comes meanwhile is kept
            while True:
                r.watch.seen.append(await r.watch.recv.receive())
        assert trio.current_time() - t0 >= QUIET
        connected = [e for e in r.watch.seen if isinstance(e, ev.Connected)]
        # no camera dropped or flapped
        assert sorted((e.camera, e.connected) for e in connected) == sorted((d, True) for d in DIALECTS)
        assert r.daemon.engine is not None
        for d in DIALECTS:
            sim = r.sim[d]
            monitors = [s for s in sim.streams if s.kind == "event"]
            assert len(monitors) == 1 and monitors[0].closed is None, (d, monitors)
            assert monitors[0].parts == 1, d  # the state at connect, nothing since
            assert state_queries([q.target for q in sim.requests if q.status == 200]) >= 3, d
            cam = r.daemon.engine.cameras[d]
            assert cam.stats.reconnects == 0 and cam.stats.failures == 0, (d, cam.stats.last_error)
            assert cam.status()["streams"]["events" if d == "move" else "io"]["liveness"] == "TCP keepalive"
        # the monitors still speak: a change is an incident at once
        for d in DIALECTS:
            on = trio.current_time()
            await r.sim.set_trigger(d, "input:1", True)
            start = await r.watch.next(ev.IncidentEvent, d, type="start", timeout=30)
            assert start.trigger == "input:1" and trio.current_time() - on < 5, d
        assert [e for e in r.watch.seen if isinstance(e, ev.Connected)] == connected
