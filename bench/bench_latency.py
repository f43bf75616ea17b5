#!/usr/bin/env python3
"""Event latency: a trigger in the simulator to the MQTT message at a subscriber, with recording running.

    python bench/bench_latency.py                       # N = 1, 50, 200; 60 triggers each
    python bench/bench_latency.py -n 50 --triggers 200

For each N: a simulator process serves N openapi cameras (video at 10 fps with ~22 KB frames, and
the motion.cgi event stream; Basic auth; framing: see --framing); a private mosquitto listens on a free loopback port;
`recorderd run` records every camera continuously and publishes to MQTT (QoS 1, no discovery).
A subscriber (paho-mqtt, in this process) takes `bench/<camera>/motion` (the retained trigger state)
and `bench/<camera>/events` (the incident start and end, JSON).

Triggers go to the simulator's control API (`POST /_sim/trigger?name=motion&on=1` on the camera's
port) one at a time, on the cameras in turn, `--gap` apart; each is switched off again (another
measured change) before the next camera's. The simulator answers with the effect's
`time.monotonic()` (CLOCK_MONOTONIC, the same clock in every process); the subscriber stamps each
message with `time.monotonic()` on arrival. Latency = arrival - effect, per message kind:
- state: `bench/<camera>/motion` ON and OFF;
- event: the incident's start (ON) on `bench/<camera>/events`.
JSON goes to bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Broker:
    """A private mosquitto on a free loopback port (no persistence)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = bl.free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            "\n".join(
                [
                    f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                    "persistence false",
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    "max_queued_messages 100000",
                    "",
                ]
            )
        )
        log = open(workdir / "mosquitto.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        import socket

        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mosquitto did not start: {(workdir / 'mosquitto.log').read_text()}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        bl.stop(self.proc, 10)


class Subscriber:
    """paho-mqtt in its own thread: every message with its arrival time (time.monotonic())."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.lock = threading.Condition()
        self.messages: list[tuple[float, str, bytes]] = []
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-sub")

        def on_message(client: Any, userdata: Any, msg: Any) -> None:
            t = time.monotonic()
            with self.lock:
                self.messages.append((t, msg.topic, msg.payload))
                self.lock.notify_all()

        def on_connect(client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
            client.subscribe([("bench/+/motion", 0), ("bench/+/events", 0), ("bench/+/connected", 0)])

        self.client.on_message = on_message
        self.client.on_connect = on_connect
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def wait_for(self, pred: Any, timeout: float, start: int = 0) -> tuple[float, str, bytes] | None:
        """The first message from index `start` on that satisfies pred, waiting up to timeout."""
        deadline = time.monotonic() + timeout
        with self.lock:
            i = start
            while True:
                while i < len(self.messages):
                    m = self.messages[i]
                    if pred(m):
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)

    def connected_cameras(self) -> set[str]:
        state: dict[str, bytes] = {}
        with self.lock:
            for _, topic, payload in self.messages:
                if topic.endswith("/connected"):
                    state[topic.split("/")[1]] = payload
        return {c for c, p in state.items() if p == b"ON"}

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def camera_tables(sim: bl.Sim) -> list[str]:
    out = []
    for c in sim.cams:
        out += [
            f"[cameras.{c.name}]",
            'dialect = "openapi"',
            f'url = "{c.base_url}"',
            f'username = "{c.username}"',
            f'password = "{c.password}"',
            'auth = "basic"',
            'triggers = ["motion"]',
            # every trigger its own incident: no end debounce, no incident rate limit
            'min_off = "0s"',
            "max_incidents = 0",
            'record = { mode = "continuous", segment = "60s" }',
            'actions = ["mqtt"]',
            "",
        ]
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def summary(name: str, lat: list[float], missed: int) -> dict[str, Any]:
    ms = [x * 1000 for x in lat]
    return {
        "kind": name,
        "count": len(ms),
        "missed": missed,
        "p50_ms": round(pct(ms, 50) or 0, 2) if ms else None,
        "p99_ms": round(pct(ms, 99) or 0, 2) if ms else None,
        "max_ms": round(max(ms), 2) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
    }


def run_n(n: int, framing: str, args: argparse.Namespace, base: Path) -> dict[str, Any]:
    work = base / f"n{n}-{framing}"
    work.mkdir()
    cams: dict[str, dict[str, Any]] = {
        name: {"dialect": "openapi", "fps": 10, "audio": "none", "event_interval": args.event_interval}
        for name in bl.cam_names(n)
    }
    if framing == "leading":  # the simulator's default is the documents' layout ("trailing")
        for c in cams.values():
            c["faults"] = {"leading_delimiter": True}
    broker = Broker(work)
    sub = None
    daemon = None
    try:
        with bl.Sim(work, cams, simulator=bl.apply_load(args.load, cams)) as sim:
            sub = Subscriber(broker.port)
            cfg = work / "recorderd.toml"
            bl.daemon_config(cfg, work / "state", camera_tables(sim), mqtt_port=broker.port)
            daemon = bl.start_daemon(cfg, work / "recorderd.log")
            sim.wait_streaming("video", timeout=args.connect_timeout)
            sim.wait_streaming("event", timeout=args.connect_timeout)
            deadline = time.monotonic() + args.connect_timeout
            while len(sub.connected_cameras()) < n:
                if time.monotonic() > deadline or daemon.poll() is not None:
                    raise RuntimeError(
                        f"{len(sub.connected_cameras())}/{n} cameras connected on MQTT; "
                        f"log: {(work / 'recorderd.log').read_text()[-2000:]}"
                    )
                time.sleep(0.2)
            time.sleep(args.warmup)
            load0 = bl.loadavg()
            cpu0 = bl.cpu_seconds(daemon.pid)
            t0 = time.monotonic()
            state: list[float] = []
            event: list[float] = []
            missed_state = missed_event = 0
            for i in range(args.triggers):
                cam = sim.cams[(i * 7919) % n]  # spread over the cameras
                for on in (True, False):
                    mark = len(sub.messages)
                    eff = sim.trigger(cam, "motion", on)
                    want = b"ON" if on else b"OFF"
                    topic = f"bench/{cam.name}/motion"
                    m = sub.wait_for(lambda m, t=topic, w=want: m[1] == t and m[2] == w, 5.0, mark)
                    if m is None:
                        missed_state += 1
                    else:
                        state.append(m[0] - eff["mono"])
                    if on:
                        etopic = f"bench/{cam.name}/events"
                        e = sub.wait_for(
                            lambda m, t=etopic: m[1] == t and json.loads(m[2]).get("type") == "start",
                            5.0,
                            mark,
                        )
                        if e is None:
                            missed_event += 1
                        else:
                            event.append(e[0] - eff["mono"])
                    time.sleep(args.gap)
            elapsed = time.monotonic() - t0
            cpu = bl.cpu_seconds(daemon.pid) - cpu0
            pss = bl.pss_kib(daemon.pid) / 1024
            states = sim.states()
            frames = sum(s["frames_sent"] for s in states.values())
    finally:
        if daemon is not None:
            bl.stop(daemon, 120)
        if sub is not None:
            sub.stop()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "n": n,
        "framing": framing,
        "triggers": args.triggers,
        "state": summary("state", state, missed_state),
        "event": summary("event", event, missed_event),
        "daemon_cpu_share": round(cpu / elapsed, 3),
        "daemon_pss_mib": round(pss, 1),
        "frames_sent_total": frames,
        "loadavg_before": load0,
        "loadavg_after": bl.loadavg(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--cameras", type=int, action="append", help="camera counts (default 1 50 200)")
    ap.add_argument("--triggers", type=int, default=60, help="triggers per N (each also switched off)")
    ap.add_argument("--gap", type=float, default=0.1, help="pause after each change")
    ap.add_argument(
        "--framing",
        action="append",
        choices=["trailing", "leading"],
        help="trailing (default): each part followed by its delimiter (the VAPIX example, D-Link); "
        "leading: the delimiter sent with the next part, so a part without Content-Length ends only "
        "when the next one comes (latency includes --event-interval)",
    )
    ap.add_argument(
        "--event-interval", type=float, default=1.0, help="the cameras repeat their state this often"
    )
    ap.add_argument("--warmup", type=float, default=3.0)
    bl.add_load_argument(ap)
    ap.add_argument("--connect-timeout", type=float, default=180.0)
    ap.add_argument("--json", type=Path, help="results file (default bench/results/latency.json)")
    ap.add_argument(
        "--workdir", type=Path, help="where the state directory goes (default: a temporary directory)"
    )
    args = ap.parse_args()
    ns = args.cameras or [1, 50, 200]
    results: dict[str, Any] = {"machine": bl.machine(), "runs": []}
    rows = []
    base = Path(tempfile.mkdtemp(prefix="bench-latency-", dir=args.workdir))
    try:
        for framing in args.framing or ["trailing"]:
            for n in ns:
                r = run_n(n, framing, args, base)
                results["runs"].append(r)
                for kind in ("state", "event"):
                    rows.append(
                        {
                            "N": n,
                            "framing": framing,
                            "message": kind,
                            **r[kind],
                            "daemon_cpu": r["daemon_cpu_share"],
                        }
                    )
                print(bl.table(rows[-2:], COLS, title=f"N = {n}"), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    results["machine"]["loadavg_end"] = bl.loadavg()
    out = bl.write_results("latency", results, args.json)
    print()
    print(bl.table(rows, COLS, title="trigger in the simulator -> MQTT message at a subscriber (ms)"))
    print(
        f"load average at start {results['machine']['loadavg']}, at end {results['machine']['loadavg_end']}"
    )
    print(f"JSON: {out}")
    return 0


COLS = ["N", "framing", "message", "count", "missed", "p50_ms", "p99_ms", "max_ms", "mean_ms", "daemon_cpu"]


if __name__ == "__main__":
    sys.exit(main())
