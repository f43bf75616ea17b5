"""Shared pieces of the benchmark scripts: the simulator as a separate process, /proc figures, configs.

Not a test helper: every figure here comes from real processes (the simulator, `recorderd run`,
ffmpeg, mosquitto) talking over loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- /proc -----------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_snapshot(pids: Iterable[int]) -> dict[tuple[int, int], int]:
    """On-CPU nanoseconds of every thread of the processes (/proc/<pid>/task/<tid>/schedstat).

    Exact to the nanosecond, where utime + stime count clock ticks (10 ms): at one camera a 20 s
    window holds a few dozen ms of CPU. Compare two snapshots with `cpu_delta`.
    """
    snap: dict[tuple[int, int], int] = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for tid in tids:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                snap[(pid, int(tid))] = int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
    return snap


def cpu_delta(a: dict[tuple[int, int], int], b: dict[tuple[int, int], int]) -> float:
    """Seconds of CPU between two snapshots: threads started in between count whole (their time is
    all inside); a thread that ran and ended in between is missed (trio's idle workers live 10 s)."""
    return sum(ns - a.get(k, 0) for k, ns in b.items()) / 1e9


def pss_kib(pid: int) -> int:
    """Proportional set size (shared pages split between their users) from smaps_rollup, KiB."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def mem_available_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def machine() -> dict[str, Any]:
    """What the figures were measured on (the load is other agents' work on the same 2 cores)."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "loadavg": loadavg(),
        "mem_available_mib": mem_available_mib(),
        "python": sys.version.split()[0],
    }


def tree_size(root: Path) -> int:
    """Bytes of all files under root (recordings being written included)."""
    total = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(os.path.join(dirpath, f)).st_size
    return total


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[Any], timeout: float = 60.0) -> int | None:
    """SIGTERM a process we started (by its pid), then SIGKILL if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


# -- the simulator -----------------------------------------------------------------------------------


@dataclass
class SimCam:
    name: str
    base_url: str
    video_url: str
    username: str
    password: str
    auth: str


class Sim:
    """`recorderd simulate` with N cameras in its own process (the load generator). By default each
    camera sends at its own random phase (`simulator={"frame_phase": "shared"}`: all at one instant,
    a what-if); its frames come in bursts as a 100 Mbit/s link delivers them (`frame_bursts`, "link"
    by default; "off": one write per frame; docs/sim.md)."""

    def __init__(
        self,
        workdir: Path,
        cameras: dict[str, dict[str, Any]],
        *,
        frame_log: int = 20000,
        simulator: dict[str, Any] | None = None,
    ) -> None:
        self.workdir = workdir
        self.cfg = workdir / "sim.toml"
        settings = {"frame_log": frame_log, **(simulator or {})}
        lines = ["[simulator]", *(f"{k} = {toml_value(v)}" for k, v in settings.items()), ""]
        for name, table in cameras.items():
            lines.append(f"[cameras.{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
            lines.append("")
        self.cfg.write_text("\n".join(lines))
        self.proc: subprocess.Popen[str] | None = None
        self.cams: list[SimCam] = []
        self.n = len(cameras)

    def __enter__(self) -> Sim:
        err = open(self.workdir / "sim.log", "w")
        self.proc = subprocess.Popen(
            [PY, "-m", "recorderd", "simulate", "-c", str(self.cfg)],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        err.close()
        assert self.proc.stdout is not None
        for _ in range(self.n):
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"simulator exited: {(self.workdir / 'sim.log').read_text()[-2000:]}")
            e = json.loads(line)
            self.cams.append(
                SimCam(e["name"], e["url"], e["video_url"], e["username"], e["password"], e["auth"])
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop(self.proc, 30)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def states(self, cams: Sequence[SimCam] | None = None) -> dict[str, dict[str, Any]]:
        """`/_sim/state` of every camera (in parallel: 500 cameras in a fraction of a second)."""
        cams = list(cams if cams is not None else self.cams)
        with ThreadPoolExecutor(32) as pool:
            got = list(pool.map(lambda c: http_json(c.base_url + "_sim/state"), cams))
        return {c.name: s for c, s in zip(cams, got, strict=True)}

    def frames(self, cam: SimCam) -> list[int]:
        """Seqs of the frames written whole to any video stream of the camera."""
        return list(http_json(cam.base_url + "_sim/frames"))

    def trigger(self, cam: SimCam, name: str, on: bool) -> dict[str, Any]:
        return dict(http_json(cam.base_url + f"_sim/trigger?name={name}&on={int(on)}", method="POST"))

    def wait_streaming(self, kind: str = "video", timeout: float = 120.0, streams: int = 1) -> None:
        """Until every camera has `streams` open streams of `kind` that have sent a part."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states()
            missing = [
                n
                for n, s in states.items()
                if sum(
                    1
                    for st in s["streams"]
                    if st["kind"] == kind and st["closed"] is None and st["parts"] > 0
                )
                < streams
            ]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(missing)} camera(s) not streaming, e.g. {missing[:5]}")
            time.sleep(0.5)


def toml_value(v: Any) -> str:
    """A TOML value for str, bool, numbers, lists and (inline) tables."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)


def http_json(url: str, method: str = "GET") -> Any:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def cam_names(n: int) -> list[str]:
    return [f"c{i:04d}" for i in range(n)]


# -- recorderd ---------------------------------------------------------------------------------------


def daemon_config(
    path: Path,
    state_dir: Path,
    cameras: Iterable[str],
    *,
    mqtt_port: int | None = None,
    log_level: str = "warning",
) -> None:
    """A daemon config: the [daemon] and optional [mqtt] tables, then the given camera tables."""
    lines = [
        "[daemon]",
        f'state_dir = "{state_dir}"',
        'timezone = "UTC"',
        'http_listen = ""',
        f'log_level = "{log_level}"',
        "",
        "[storage]",
        'min_free = "2GiB"',
        "",
    ]
    if mqtt_port is not None:
        lines += [
            "[mqtt]",
            'host = "127.0.0.1"',
            f"port = {mqtt_port}",
            'topic = "bench"',
            "discovery = false",
            "qos = 1",
            "",
        ]
    lines += list(cameras)
    path.write_text("\n".join(lines) + "\n")


def start_daemon(cfg: Path, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out = open(log, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [PY, "-m", "recorderd", "run", "-c", str(cfg)],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    out.close()
    return proc


def write_results(name: str, data: Any, path: Path | None = None) -> Path:
    out = path or RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    return out


def table(rows: list[dict[str, Any]], cols: list[str], title: str = "") -> str:
    """A plain text table; numbers right-aligned."""
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols]
    out = [title] if title else []
    out.append("  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True)))
    for r in rows:
        out.append("  ".join(_fmt(r.get(c)).rjust(w) for c, w in zip(cols, widths, strict=True)))
    return "\n".join(out)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


# -- the load ---------------------------------------------------------------------------------------

LOADS = ("realistic", "ticker", "whole")


def add_load_argument(ap: Any) -> None:
    ap.add_argument(
        "--load",
        choices=LOADS,
        default="realistic",
        help="realistic (default): each camera at its own random phase, each frame in bursts as a "
        "100 Mbit/s link delivers it; whole: random phases, each frame in one write; ticker: every "
        "camera's frame at one instant (a what-if: how the figures before December 2026 were taken)",
    )


def apply_load(load: str, cameras: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Set the cameras' bursts for `load`; the [simulator] settings it needs."""
    for c in cameras.values():  # whole and ticker: one write per frame
        c["frame_bursts"] = "link" if load == "realistic" else "off"
    return {"frame_phase": "shared"} if load == "ticker" else {}


def settle(max_wait: float = 120.0) -> None:
    """Let the disk catch up (what the last run wrote) before the next measurement starts."""
    os.sync()
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kib = sum(int(x.split()[1]) for x in meminfo if x.startswith(("Dirty:", "Writeback:")))
        if kib < 64 * 1024:
            break
        time.sleep(1)
    time.sleep(3)
