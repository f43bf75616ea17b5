"""`recorderd run` as systemd runs it, against the simulator: sd_notify READY/WATCHDOG/RELOADING/
STOPPING over a fake NOTIFY_SOCKET, a watchdog that stops while the loop is blocked, the HTTP
endpoint, SIGHUP restarting only the changed camera (an invalid file changing nothing), and SIGTERM
during recording leaving every file closed with a Duration ffprobe reports."""

from __future__ import annotations

import itertools
import re
import signal
from pathlib import Path
from typing import Any

import httpx
import trio

from recorderd.recording.mkv import MkvError, scan_file
from recorderd.sim import Simulator, open_simulator
from tests.support.blocking_run import BLOCKING
from tests.support.daemonharness import NotifyListener, run_daemon, toml
from tests.support.ffprobe import check_recordings, ffprobe
from tests.support.simharness import sim_config
from tests.support.wait import wait_until

TOKEN = "t0ken-for-the-endpoint"


def write_config(path: Path, sim: Simulator, state: Path, b_extra: dict[str, Any] | None = None) -> None:
    cams: dict[str, dict[str, Any]] = {
        "a": {"triggers": ["motion"], "record": {"mode": "event", "pre": "1s", "post": "1s"}},
        "b": {"triggers": ["motion"], "record": {"mode": "off"}, **(b_extra or {})},
        "c": {"triggers": [], "record": {"mode": "continuous", "segment": "1m"}},
    }
    doc: dict[str, dict[str, Any]] = {
        "daemon": {
            "state_dir": str(state),
            "http_listen": "127.0.0.1:0",
            "http_token_file": str(path.parent / "token"),
        }
    }
    for name, extra in cams.items():
        doc[f"cameras.{name}"] = {**sim[name].recorderd_camera(), "read_timeout": "3s", **extra}
    path.write_text(toml(doc))


def streams(sim: Simulator, cam: str) -> tuple[set[int], int]:
    """(ids of the streams open now, streams ever opened) on the simulated camera."""
    return {s.id for s in sim[cam].open_streams()}, len(sim[cam].streams)


async def test_run_under_a_service_manager(tmp_path: Path, nursery: trio.Nursery) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    cfg, state = tmp_path / "recorderd.toml", tmp_path / "state"
    listener = NotifyListener()
    nursery.start_soon(listener.run)
    sim_cams = {"a": {"dialect": "vapix"}, "b": {"dialect": "openapi"}, "c": {"dialect": "mjpeg"}}
    async with open_simulator(sim_config(sim_cams)) as sim:
        write_config(cfg, sim, state)
        env = {
            "NOTIFY_SOCKET": listener.address,
            "WATCHDOG_USEC": "300000",  # a ping every 150 ms
        }
        async with run_daemon(cfg, env, block_loop=1.5) as d:
            # READY once the cameras are started, with the one-line status
            ready = await listener.wait_for(lambda m: m.get("READY") == "1", timeout=30)
            assert listener.messages[ready][1]["STATUS"].startswith("3 cameras, ")
            for cam in "abc":
                await d.wait_line(f"{cam}: connected")
            await listener.wait_for(lambda m: m.get("STATUS", "").startswith("3 cameras, 3 connected"))

            # WATCHDOG pings flow, stop while the loop is blocked, and come back
            first = await listener.wait_for(lambda m: "WATCHDOG" in m, after=ready)
            await listener.wait_for(lambda m: "WATCHDOG" in m, after=first + 3)
            d.send(signal.SIGUSR2)
            await d.wait_line(BLOCKING)
            resumed = await listener.wait_for(lambda m: "WATCHDOG" in m, after=len(listener.messages))
            pings = [t for t, m in listener.messages[first : resumed + 1] if "WATCHDOG" in m]
            gaps = [b - a for a, b in itertools.pairwise(pings)]
            assert max(gaps) >= 1.3, gaps  # none while blocked (1.5 s) ...
            await listener.wait_for(lambda m: "WATCHDOG" in m, after=resumed + 1)  # ... then again

            # the HTTP endpoint of `recorderd run`, with the token from http_token_file
            at = await d.wait_line("HTTP endpoint on ")
            url = re.search(r"HTTP endpoint on (http://\S+?)[,\s]*$", d.lines[at])
            assert url is not None
            auth = {"Authorization": f"Bearer {TOKEN}"}
            async with httpx.AsyncClient(base_url=url.group(1), timeout=10) as http:
                assert (await http.get("/metrics")).status_code == 401
                metrics = (await http.get("/metrics", headers=auth)).text
                for cam in "abc":
                    assert f'recorderd_camera_connected{{camera="{cam}"}} 1.0' in metrics
                    assert f'recorderd_camera_reconnects_total{{camera="{cam}"}} 0.0' in metrics
                frames = re.search(r'recorderd_camera_frames_total\{camera="a"\} (\d+)', metrics)
                assert frames is not None and int(frames.group(1)) > 0
                assert re.search(r"recorderd_disk_total_bytes [1-9]", metrics)
                status = (await http.get("/api/status", headers=auth)).json()
                assert set(status["cameras"]) == {"a", "b", "c"} and status["summary"].startswith("3 cameras")
                snap = await http.get("/api/cameras/a/snapshot.jpg", headers=auth)
                assert snap.status_code == 200 and snap.content.startswith(b"\xff\xd8")
                trig = await http.post("/api/cameras/b/trigger", headers=auth)
                assert trig.status_code == 202 and trig.json()["incident"].startswith("b-")
                assert (
                    await http.post("/api/cameras/b/armed", headers=auth, content="OFF")
                ).status_code == 200
                status = (await http.get("/api/status", headers=auth)).json()
                assert status["cameras"]["b"]["armed"] is False

            # SIGHUP with camera b changed: b alone restarts, a's and c's streams stay connected
            before = {cam: streams(sim, cam) for cam in "abc"}
            write_config(cfg, sim, state, {"min_on": "100ms"})
            mark, line_mark = len(listener.messages), len(d.lines)
            d.send(signal.SIGHUP)
            reloading = await listener.wait_for(lambda m: m.get("RELOADING") == "1", after=mark)
            done = await listener.wait_for(lambda m: m.get("READY") == "1", after=reloading)
            assert listener.messages[done][1]["STATUS"] == "reloaded: 1 camera(s) restarted (b)"
            await d.wait_line("b: connected", after=line_mark)
            for cam in "ac":
                assert streams(sim, cam) == before[cam], cam  # the same streams, none reopened
            assert streams(sim, "b")[1] > before["b"][1]  # b reconnected: new streams ...
            with trio.fail_after(5):  # ... and its old ones are closed (seen at the next write)
                await sim["b"].wait_until(lambda: not streams(sim, "b")[0] & before["b"][0])

            # an invalid file is rejected with its errors; the running config is kept
            good = cfg.read_text()
            cfg.write_text(good.replace('dialect = "openapi"', 'dialect = "nope"'))
            before = {cam: streams(sim, cam) for cam in "abc"}
            mark, line_mark = len(listener.messages), len(d.lines)
            d.send(signal.SIGHUP)
            rejected = await listener.wait_for(lambda m: m.get("READY") == "1", after=mark)
            assert listener.messages[rejected][1]["STATUS"].startswith("reload rejected (1 error)")
            await d.wait_line("cameras.b.dialect", after=line_mark)
            await d.wait_line("the running configuration is kept", after=line_mark)
            assert {cam: streams(sim, cam) for cam in "abc"} == before
            cfg.write_text(good)

            # SIGTERM during recording: a's clip (incident open) and c's segment are finished
            await sim.set_trigger("a", "motion", True)
            await d.wait_line("started by motion")

            def clip_frames() -> int:
                parts = list(state.glob("recordings/a/*/*.part"))
                try:
                    return scan_file(parts[0]).video_frames if parts else 0
                except MkvError:  # not even its header written yet
                    return 0

            # the pre-trigger second and a second more (10 fps) in the clip's clusters, on disk
            await wait_until(lambda: clip_frames() >= 20, 15, "two seconds of clusters in the clip", 0.1)
            mark = len(listener.messages)
            t0 = trio.current_time()
            code = await d.stop(signal.SIGTERM, timeout=25)
            took = trio.current_time() - t0
            await listener.wait_for(lambda m: m.get("STOPPING") == "1", after=mark, timeout=1)
    print(d.log, f"\nstop took {took:.2f}s")
    assert code == 0, d.log
    assert took < 20, took
    assert "Traceback" not in d.log and TOKEN not in d.log
    files = sorted(state.glob("recordings/*/*/*"))
    assert {f.parts[-3] for f in files} == {"a", "c"}, files
    assert all(f.suffix == ".mkv" for f in files), files  # nothing left as .part
    # every file plays; each camera's hold more than half a second (c's 1 min segments are cut on
    # the minute: a stop just after one leaves a short last file, as at 07:45:00.2 in one CI run)
    recorded: dict[str, float] = {}
    for f in files:
        duration = float(ffprobe(f)["format"]["duration"])
        assert duration > 0, (f, duration)
        recorded[f.parts[-3]] = recorded.get(f.parts[-3], 0.0) + duration
    assert all(d > 0.5 for d in recorded.values()), recorded
    assert await trio.to_thread.run_sync(check_recordings, state) == []
