"""Drills of hostile and faulty input against the real daemon, on loopback; each prints its figures.

    python bench/drill_hostile.py storm [--rate 1000] [--incidents 12] [--new-groups]
    python bench/drill_hostile.py redirect [--seconds 20]
    python bench/drill_hostile.py crosssite              # Debian's chromium, headless, via Playwright
    python bench/drill_hostile.py fdflood [--connections 1100] [--seconds 30]
    python bench/drill_hostile.py bodyflood [--bodies 4] [--mib 100]

Every drill takes `--json FILE` (its figures); the suite runs short versions
(tests/bench/test_drills_hostile.py). Peers are in tests/support/hostile.py and camfake.py.

- storm: a healthy simulated camera triggered N times while an openapi camera's motion level
  crosses its threshold `--rate` times a second (or invents a new `group=N` in every part):
  the healthy camera's events at the outbox and at an MQTT subscriber, the storm's incidents,
  index growth, log lines, resident memory, frames of both.
- redirect: four cameras (basic, digest, query, auto) whose every answer redirects to a sink on
  another port: requests at the sink that carried a credential.
- crosssite: a page on another origin (and one on a rebound domain name) posts `OFF` to the
  armed API and a manual trigger, as `no-cors` fetches and a form: the armed state, incidents.
- fdflood: the daemon recording a simulated camera with a soft and hard descriptor limit of
  1024 while a child process holds N slow connections to its endpoint: frames lost, files that
  failed to open, /healthz answers.
- bodyflood: parallel POSTs of large bodies: answers and the daemon's memory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorderd.actions.outbox import OutboxStore  # noqa: E402
from recorderd.config.model import Config  # noqa: E402
from recorderd.daemon.lifecycle import Daemon  # noqa: E402
from recorderd.sim import open_simulator  # noqa: E402
from tests.mqtt.conftest import Mosquitto, Subscriber  # noqa: E402
from tests.support.camfake import FakeCam, Reply, Request  # noqa: E402
from tests.support.hostile import StormCamera, credentials_seen, rss_mib, slow_connections  # noqa: E402
from tests.support.simharness import sim_config  # noqa: E402


class LineCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines = 0
        self.by_logger: dict[str, int] = {}
        self.texts: list[str] = []  # bound: the first 1000

    def emit(self, record: logging.LogRecord) -> None:
        self.lines += 1
        self.by_logger[record.name] = self.by_logger.get(record.name, 0) + 1
        if len(self.texts) < 1000:
            self.texts.append(record.getMessage())


def build(raw: dict[str, Any], mqtt: bool = False) -> Config:
    return Config.model_validate(raw, context={"targets": set(), "mqtt": mqtt})


async def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    with trio.move_on_after(timeout):
        while not check():
            await trio.sleep(step)
        return True
    return False


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


# -- storm ----------------------------------------------------------------------------------------


async def storm(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    broker = Mosquitto(tmp / "mqtt")
    broker.start()
    sub = Subscriber(broker.port, ["rd/+/events"])
    counter = LineCount()
    logging.getLogger("recorderd").addHandler(counter)
    storm_cam = StormCamera(rate=args.rate, new_groups=args.new_groups, storming=False, quiet=args.quiet)
    try:
        await sub.wait_subscribed()
        async with (
            open_simulator(sim_config({"healthy": {"dialect": "vapix"}})) as sim,
            trio.open_nursery() as n,
        ):
            await n.start(storm_cam.serve)
            healthy = sim["healthy"].recorderd_camera()
            healthy.update({"triggers": ["motion"], "record": {"mode": "event", "pre": "1s", "post": "1s"}})
            if args.min_off is not None:
                healthy["min_off"] = f"{args.min_off}s"
            cfg = build(
                {
                    "daemon": {"state_dir": str(tmp / "state"), "http_listen": ""},
                    "mqtt": {"host": "127.0.0.1", "port": broker.port, "topic": "rd", "discovery": False},
                    "cameras": {
                        "healthy": healthy,
                        "storm": {
                            "dialect": "openapi",
                            "url": storm_cam.url,
                            "triggers": ["motion"],
                            "record": {"mode": "continuous", "segment": "10s"},
                            **(
                                {"min_off": f"{args.storm_min_off}s"}
                                if args.storm_min_off is not None
                                else {}
                            ),
                        },
                    },
                },
                mqtt=True,
            )
            daemon = Daemon(cfg)
            await n.start(daemon.run)
            engine = daemon.engine
            assert engine is not None
            up = await wait_until(lambda: all(c.stats.connected for c in engine.cameras.values()), 20)
            if not up:
                raise SystemExit("the cameras did not connect")
            index = cfg.daemon.state_dir / "index.sqlite3"
            base = {"rss": rss_mib(), "index": file_size(index), "lines": counter.lines}
            storm_cam.storming = True
            parts0, t0 = storm_cam.parts, time.monotonic()
            frames0 = {name: c.stats.frames for name, c in engine.cameras.items()}
            for _ in range(args.incidents):
                await sim.set_trigger("healthy", "motion", True)
                await trio.sleep(args.on)
                await sim.set_trigger("healthy", "motion", False)
                await trio.sleep(args.gap)
            want = 2 * args.incidents
            await trio.sleep(max(0.0, args.min_seconds - (time.monotonic() - t0)))

            def healthy_at_subscriber() -> int:
                seen = set()
                for m in sub.snapshot():
                    e = json.loads(m.payload)
                    if e["camera"] == "healthy":
                        seen.add((e["id"], e["type"]))
                return len(seen)

            await wait_until(lambda: healthy_at_subscriber() >= want, args.settle)
            elapsed = time.monotonic() - t0
            storm_status = engine.cameras["storm"].status()
            figures = {
                "storm_parts_per_s": round((storm_cam.parts - parts0) / elapsed),
                "seconds": round(elapsed, 1),
                "healthy_events_wanted": want,
                "healthy_events_at_outbox": outbox_events(cfg, "healthy"),
                "healthy_events_at_subscriber": healthy_at_subscriber(),
                "storm_incidents": engine.cameras["storm"].stats.incidents,
                "storm_flapping": storm_status.get("flapping"),
                "storm_storms": storm_status.get("storms"),
                "bus_dropped": engine.bus.dropped(),
                "index_growth_kib": round((file_size(index) - base["index"]) / 1024, 1),
                "index_incident_rows": incident_rows(index, "storm"),
                "log_lines": counter.lines - base["lines"],
                "log_lines_per_logger": counter.by_logger,
                "rss_growth_mib": round(rss_mib() - base["rss"], 1),
                "frames": {name: c.stats.frames - frames0[name] for name, c in engine.cameras.items()},
                "storm_video_fps_sent": round((storm_cam.frames) / max(elapsed, 1e-9), 1),
                "trigger_names_kept": getattr(engine.cameras["storm"].triggers, "size", lambda: None)(),
            }
            daemon.stop()
            n.cancel_scope.cancel()
        return figures
    finally:
        logging.getLogger("recorderd").removeHandler(counter)
        sub.close()
        broker.stop()


def incident_rows(index: Path, camera: str) -> int:
    with contextlib.closing(sqlite3.connect(index)) as db:
        return int(db.execute("SELECT COUNT(*) FROM incidents WHERE camera = ?", (camera,)).fetchone()[0])


def outbox_events(cfg: Config, camera: str) -> int:
    store = OutboxStore(cfg.daemon.state_dir / "outbox.sqlite")
    try:
        seen = set()
        for state in ("pending", "done", "dead"):
            for row in store.by_state(state, 100_000, target="mqtt"):  # type: ignore[arg-type]
                for e in row.payload.get("events", [row.payload]):
                    if e.get("camera") == camera:
                        seen.add((e["id"], e["type"]))
        return len(seen)
    finally:
        store.close()


# -- redirect -------------------------------------------------------------------------------------


async def redirect(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    secret = "drill-s3cret"
    counter = LineCount()
    logging.getLogger("recorderd").addHandler(counter)
    sink = FakeCam(
        lambda r: Reply(200, {"Content-Type": "text/plain"}, b"var alarm_status=1;\n"), auth="basic"
    )
    async with trio.open_nursery() as n:
        await n.start(sink.serve)

        def away(req: Request) -> Reply:
            return Reply(302, {"Location": f"{sink.url}{req.path.lstrip('/')}?stolen=1"})

        cams = {}
        for mode in ("basic", "digest", "query", "auto"):
            cam = FakeCam(away, auth="query" if mode == "auto" else mode, password=secret)
            await n.start(cam.serve)
            cams[mode] = cam
        cfg = build(
            {
                "daemon": {"state_dir": str(tmp / "state"), "http_listen": ""},
                "cameras": {
                    f"cam-{mode}": {
                        "dialect": "foscam",
                        "url": cam.url,
                        "username": "admin",
                        "password": secret,
                        "auth": mode,
                        "poll_interval": "200ms",
                        "record": {"mode": "continuous"},
                    }
                    for mode, cam in cams.items()
                },
            }
        )
        daemon = Daemon(cfg)
        await n.start(daemon.run)
        await trio.sleep(args.seconds)
        engine = daemon.engine
        assert engine is not None
        refused = {
            name: next((t for t in counter.texts if t.startswith(f"{name}:") and "another address" in t), "")
            for name in engine.cameras
        }
        figures = {
            "seconds": args.seconds,
            "requests_to_cameras": sum(len(c.requests) for c in cams.values()),
            "requests_at_sink": len(sink.requests),
            "credential_handovers": credentials_seen(sink, "admin", secret),
            "logged": refused,
            "secret_in_log": any(secret in t for t in counter.texts),
        }
        logging.getLogger("recorderd").removeHandler(counter)
        daemon.stop()
        n.cancel_scope.cancel()
    return figures


# -- cross-site page ------------------------------------------------------------------------------

ATTACK_PAGE = """<!doctype html><title>cute cats</title>
<form id="f" method="POST" action="{target}/api/cameras/yard/armed" enctype="text/plain" target="sink">
<input name="OFF" value=""></form><iframe name="sink"></iframe>
<script>
(async () => {{
  const opts = {{method: "POST", mode: "no-cors", body: "OFF", headers: {{"Content-Type": "text/plain"}}}};
  const tries = [
    fetch("{target}/api/cameras/yard/armed", opts),
    fetch("{target}/api/cameras/yard/trigger", {{method: "POST", mode: "no-cors"}}),
    fetch("{target}/api/cameras/yard/armed", {{method: "PUT", body: "OFF", headers: {{"X-Recorderd-CSRF": "1"}}}}),
  ];
  for (const t of tries) {{ try {{ await t; }} catch (e) {{}} }}
  document.getElementById("f").submit();
  setTimeout(() => {{ document.title = "done"; }}, 1000);
}})();
</script>"""


@asynccontextmanager
async def endpoint_daemon(
    tmp: Path, dialect: str = "vapix", **camera: Any
) -> AsyncIterator[tuple[Daemon, str]]:
    """A daemon with one simulated camera "yard" and its endpoint on a free loopback port."""
    async with open_simulator(sim_config({"yard": {"dialect": dialect}})) as sim, trio.open_nursery() as n:
        table = sim["yard"].recorderd_camera()
        table.update(camera)
        cfg = build(
            {
                "daemon": {"state_dir": str(tmp / "state"), "http_listen": "127.0.0.1:0"},
                "cameras": {"yard": table},
            }
        )
        daemon = Daemon(cfg)
        await n.start(daemon.run)
        await wait_until(lambda: bool(daemon.http_addresses), 10)
        yield daemon, daemon.http_addresses[0]
        daemon.stop()
        n.cancel_scope.cancel()


async def crosssite(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    async with (
        endpoint_daemon(tmp, triggers=["motion"], record={"mode": "off"}) as (daemon, api),
        trio.open_nursery() as n,
    ):
        port = int(api.rsplit(":", 1)[1])
        engine = daemon.engine
        assert engine is not None
        cam = engine.cameras["yard"]
        before = {
            "armed": cam.machine.armed,
            "override": cam.machine.override.value,
            "incidents": cam.stats.incidents,
        }
        pages: dict[str, bytes] = {
            "/cross": ATTACK_PAGE.format(target=api).encode(),
            # a domain name the attacker re-points at 127.0.0.1 (DNS rebinding): same origin for the browser
            "/rebound": ATTACK_PAGE.format(target=f"http://rebound.test:{port}").encode(),
        }
        page_server = FakeCam(lambda r: Reply(200, {"Content-Type": "text/html"}, pages.get(r.path, b"")))
        await n.start(page_server.serve)
        visited = await trio.to_thread.run_sync(
            browse,
            [f"http://localhost:{page_server.port}/cross", f"http://rebound.test:{page_server.port}/rebound"],
            str(tmp / "profile"),
        )
        after = {
            "armed": cam.machine.armed,
            "override": cam.machine.override.value,
            "incidents": cam.stats.incidents,
        }
        # the same requests from a script that shows the proof: they work
        async with httpx.AsyncClient(base_url=api) as c:
            ok = (
                await c.post("/api/cameras/yard/armed", content="OFF", headers={"X-Recorderd-CSRF": "1"})
            ).status_code
        figures = {
            "before": before,
            "after_pages": after,
            "pages_visited": visited,
            "own_script_status": ok,
            "after_own_script": cam.machine.override.value,
        }
        n.cancel_scope.cancel()
    return figures


def browse(urls: list[str], profile: str) -> list[str]:
    """Open each page in headless chromium (Playwright, Debian's binary) and wait for it to finish."""
    from playwright.sync_api import sync_playwright

    from tests.support.webharness import launch

    titles = []
    with sync_playwright() as p:
        ctx = launch(p, Path(profile), extra_args=("--host-resolver-rules=MAP rebound.test 127.0.0.1",))
        try:
            for url in urls:
                page = ctx.new_page()
                page.goto(url)
                with contextlib.suppress(Exception):  # the figures say what happened
                    page.wait_for_function("document.title === 'done'", timeout=15_000)
                page.wait_for_timeout(500)
                titles.append(f"{url}: {page.title()}")
                page.close()
        finally:
            ctx.close()
    return titles


# -- descriptor flood -----------------------------------------------------------------------------


async def fdflood(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    child = slow_connections(args.connections, args.seconds)  # before the limit: it needs more
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.limit, args.limit))  # the daemon cannot raise it
    try:
        async with endpoint_daemon(tmp, "mjpeg", record={"mode": "continuous", "segment": "1s"}) as (
            daemon,
            api,
        ):
            host, port = api.removeprefix("http://").rsplit(":", 1)
            engine = daemon.engine
            assert engine is not None and daemon.stages is not None
            await wait_until(lambda: engine.cameras["yard"].stats.frames > 10, 10)
            rec0 = recorded_frames(daemon)
            frames0 = engine.cameras["yard"].stats.frames
            errors0 = recorder_errors(daemon)
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(f"{host} {port}\n")
            child.stdin.flush()
            opened = int(await trio.to_thread.run_sync(child.stdout.readline) or 0)
            health: list[float] = []
            failed = 0
            t_end = trio.current_time() + args.seconds - 2
            async with httpx.AsyncClient(base_url=api, timeout=5) as c:
                while trio.current_time() < t_end:
                    t = time.monotonic()
                    try:
                        (await c.get("/healthz")).raise_for_status()
                        health.append(time.monotonic() - t)
                    except httpx.HTTPError:
                        failed += 1
                    await trio.sleep(1)
            await trio.to_thread.run_sync(child.wait)
            await trio.sleep(2)  # the last cluster of the segment
            received = engine.cameras["yard"].stats.frames - frames0
            recorded = recorded_frames(daemon) - rec0
            figures = {
                "fd_limit": args.limit,
                "slow_connections_opened": opened,
                "frames_received": received,
                "frames_recorded": recorded,
                "frames_lost": max(0, received - recorded),
                "recorder_errors": recorder_errors(daemon) - errors0,
                "healthz_ok": len(health),
                "healthz_failed": failed,
                "healthz_max_ms": round(max(health) * 1000, 1) if health else None,
            }
        return figures
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def _recorders(daemon: Daemon) -> list[dict[str, Any]]:
    assert daemon.stages is not None
    status = daemon.stages.recording.status() or {}
    return list(status.get("cameras", {}).values())


def recorded_frames(daemon: Daemon) -> int:
    return sum(int(c.get("frames", 0)) for c in _recorders(daemon))


def recorder_errors(daemon: Daemon) -> int:
    return sum(int(c.get("errors", 0)) for c in _recorders(daemon))


# -- body flood -----------------------------------------------------------------------------------


async def bodyflood(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    async with endpoint_daemon(tmp, triggers=["motion"], record={"mode": "off"}) as (_daemon, api):
        rss0 = rss_mib()
        peak = rss0
        size = args.mib * 1024 * 1024
        statuses: list[int | str] = []

        async def body() -> Any:
            chunk = b"x" * 65536
            for _ in range(size // len(chunk)):
                yield chunk

        async def one(c: httpx.AsyncClient) -> None:
            try:
                r = await c.post("/api/cameras/yard/armed", content=body(), headers={"X-Recorderd-CSRF": "1"})
                statuses.append(r.status_code)
            except httpx.HTTPError as e:
                statuses.append(type(e).__name__)

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, rss_mib())
                await trio.sleep(0.05)

        t0 = time.monotonic()
        async with trio.open_nursery() as inner:
            inner.start_soon(watch)
            async with httpx.AsyncClient(base_url=api, timeout=60) as c, trio.open_nursery() as posts:
                for _ in range(args.bodies):
                    posts.start_soon(one, c)
            inner.cancel_scope.cancel()
        figures = {
            "bodies": args.bodies,
            "mib_each": args.mib,
            "answers": statuses,
            "seconds": round(time.monotonic() - t0, 2),
            "rss_before_mib": round(rss0, 1),
            "rss_peak_growth_mib": round(peak - rss0, 1),
        }
    return figures


DRILLS: dict[str, Callable[[argparse.Namespace, Path], Awaitable[dict[str, Any]]]] = {
    "storm": storm,
    "redirect": redirect,
    "crosssite": crosssite,
    "fdflood": fdflood,
    "bodyflood": bodyflood,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("drill", choices=sorted(DRILLS))
    ap.add_argument("--json", type=Path, help="write the figures here too")
    ap.add_argument("--rate", type=float, default=1000.0, help="storm: motion parts a second")
    ap.add_argument("--incidents", type=int, default=12, help="storm: the healthy camera's incidents")
    ap.add_argument("--on", type=float, default=0.5, help="storm: how long each healthy trigger lasts")
    ap.add_argument("--gap", type=float, default=3.0, help="storm: pause after each healthy trigger")
    ap.add_argument("--min-off", type=float, help="storm: the healthy camera's min_off")
    ap.add_argument("--storm-min-off", type=float, help="storm: the storming camera's min_off")
    ap.add_argument("--min-seconds", type=float, default=0.0, help="storm: storm at least this long")
    ap.add_argument("--settle", type=float, default=75.0, help="storm: wait this long for the events")
    ap.add_argument("--new-groups", action="store_true", help="storm: a new group=N in every part")
    ap.add_argument(
        "--quiet", type=float, default=0.0, help="storm: bursts of 50 ms this far apart (0: no pause)"
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="redirect, fdflood: how long")
    ap.add_argument("--connections", type=int, default=1100, help="fdflood: slow connections")
    ap.add_argument("--limit", type=int, default=1024, help="fdflood: the descriptor limit (soft = hard)")
    ap.add_argument("--bodies", type=int, default=4, help="bodyflood: parallel POSTs")
    ap.add_argument("--mib", type=int, default=100, help="bodyflood: MiB each")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().handlers[0].setLevel(logging.WARNING)  # shown: warnings; counted: all
    logging.getLogger("recorderd").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix=f"drill-{args.drill}-") as tmp:
        figures = trio.run(DRILLS[args.drill], args, Path(tmp))
    text = json.dumps({"drill": args.drill, **figures}, indent=2, default=str)
    print(text)
    if args.json is not None:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
