"""Drill: silence is not death, death is found. Prints its figures and exits 1 when one is off.

    python bench/drill_liveness.py quiet  [--minutes 10]   # quiet monitors stay on one connection
    python bench/drill_liveness.py silent [--rounds 3]     # a silent network: disconnected, then back

quiet: the daemon's engine (in process) watches one simulated camera per dialect whose only stream
is a quiet event monitor (vapix and openapi `input.cgi?monitor`, move `eventdata.cgi?action=monitor`,
record mode off, read_timeout 10 s): by the documents they speak at connect and on change only. For
`--minutes` of real time nothing may reconnect or flap; the state is asked every 30 s; then an input
change must still become an incident at once. Figures: monitor connections per camera, state
queries, Connected events, the change's latency.

silent: the simulator runs as a process in its own network namespace behind a veth pair
(tests/support/netns.py); once the camera (a vapix IO monitor alone) is connected, the far end of the
pair is set down: no FIN, no RST, nothing. Figures per round: seconds until the daemon says
disconnected (must be <= 30) and until it is connected again after the link comes back.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the shared harnesses

from recorderd.core import events as ev
from tests.support.simharness import Rig, rig

DIALECTS = ("vapix", "openapi", "move")


async def quiet(minutes: float) -> int:
    sims = {d: {"dialect": d} for d in DIALECTS}
    cams = {d: {"triggers": ["input:1"], "record": {"mode": "off"}, "read_timeout": "10s"} for d in DIALECTS}
    with tempfile.TemporaryDirectory() as tmp:
        async with rig(Path(tmp), sims, cams) as r:
            for d in DIALECTS:
                await r.watch.next(ev.Connected, d, connected=True, timeout=30)
            t0 = time.monotonic()
            end = trio.current_time() + minutes * 60
            while trio.current_time() < end:
                with trio.move_on_at(min(end, trio.current_time() + 60)):
                    while True:
                        r.watch.seen.append(await r.watch.recv.receive())
                print(
                    json.dumps({"minutes": round((time.monotonic() - t0) / 60, 1), **_figures(r)}), flush=True
                )
            latency = {}
            for d in DIALECTS:
                on = await r.sim.set_trigger(d, "input:1", True)
                start = await r.watch.next(ev.IncidentEvent, d, type="start", timeout=10)
                latency[d] = round(start.time.timestamp() - on.wall, 3)
            result: dict[str, Any] = {
                "quiet_minutes": minutes,
                **_figures(r),
                "change_to_incident_s": latency,
            }
    print(json.dumps(result), flush=True)
    ok = all(n == 1 for n in result["monitor_connections"].values()) and result["connected_events"] == len(
        DIALECTS
    )
    return 0 if ok else 1


def _figures(r: Rig) -> dict[str, Any]:
    return {
        "monitor_connections": {d: len([s for s in r.sim[d].streams if s.kind == "event"]) for d in DIALECTS},
        "state_queries": {
            d: sum(
                ("checkactive=" in q.target or "action=get" in q.target) and q.status == 200
                for q in r.sim[d].requests
            )
            for d in DIALECTS
        },
        "connected_events": len([e for e in r.watch.seen if isinstance(e, ev.Connected)]),
    }


async def silent(rounds: int) -> int:
    from recorderd.config.model import Config
    from recorderd.daemon.lifecycle import Daemon
    from tests.support.netns import netns, netns_unavailable, netsim, silence
    from tests.support.simharness import Watch

    why = netns_unavailable()
    if why is not None:
        print(f"drill_liveness silent: {why}", file=sys.stderr)
        return 2
    figures = []
    with netns() as ns, tempfile.TemporaryDirectory() as tmp:
        async with netsim(ns, {"cam": {"dialect": "vapix", "audio": "none"}}) as sims:
            e = sims["cam"]
            cam = {k: e[k] for k in ("dialect", "url", "username", "password")}
            cam |= {"triggers": ["input:1"], "record": {"mode": "off"}}
            raw = {"daemon": {"state_dir": tmp, "http_listen": ""}, "cameras": {"cam": cam}}
            daemon = Daemon(Config.model_validate(raw, context={"targets": set(), "mqtt": False}))
            watch = Watch(daemon.bus.subscribe("drill", 1000))
            async with trio.open_nursery() as nursery:
                await nursery.start(daemon.run)
                await watch.next(ev.Connected, "cam", connected=True, timeout=30)
                assert daemon.engine is not None
                for i in range(rounds):
                    await trio.sleep(5)  # connected a while: the keepalive is running
                    out = await silence(ns, daemon, watch, "cam")
                    f = {
                        "round": i + 1,
                        "disconnected_after_s": round(out.lost, 1),
                        "back_after_s": round(out.back, 1),
                    }
                    reason = out.reason
                    print(json.dumps({**f, "reason": reason}), flush=True)
                    figures.append(f)
                nursery.cancel_scope.cancel()
    worst = max(f["disconnected_after_s"] for f in figures)
    print(json.dumps({"rounds": rounds, "worst_disconnected_after_s": worst,
                      "worst_back_after_s": max(f["back_after_s"] for f in figures)}), flush=True)  # fmt: skip
    return 0 if worst <= 30 else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="drill", required=True)
    q = sub.add_parser("quiet", help="quiet monitors stay on one connection")
    q.add_argument("--minutes", type=float, default=10.0)
    s = sub.add_parser("silent", help="a silent network is a disconnect within 30 s, then recovers")
    s.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if args.drill == "quiet":
        return trio.run(quiet, args.minutes)
    return trio.run(silent, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
