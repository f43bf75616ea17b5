"""Start-up with real processes: one daemon per state_dir, and each expected start-up failure told in
one or two lines that name the thing and the cause, with exit code 2 or 1 and no traceback."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from recorderd.daemon.statelock import LOCK_NAME
from recorderd.recording.index import Index
from tests.support.camfake import JPEG, FakeCam, Reply, Request, mjpeg_part
from tests.support.daemonharness import DaemonProcess, run_daemon, toml

EXIT_TIMEOUT = 30.0  # a loaded machine starts Python slowly


async def run_to_exit(config: Path, *args: str, **popen: Any) -> tuple[int, list[str]]:
    """`recorderd run -c config` (or another command) until it exits: its code and stderr lines."""
    cmd = [sys.executable, "-m", "recorderd", *(args or ("run",)), "-c", str(config)]
    with trio.fail_after(EXIT_TIMEOUT):
        done = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True, check=False, **popen)
    return done.returncode, done.stderr.decode(errors="replace").splitlines()


def assert_one_clear_error(lines: list[str], *needles: str) -> None:
    """One or two lines, the first naming the thing and the cause; never a traceback."""
    text = "\n".join(lines)
    assert 1 <= len(lines) <= 2, text
    assert "Traceback" not in text and "ExceptionGroup" not in text, text
    for needle in needles:
        assert needle in lines[0], text


def mjpeg_handler(req: Request) -> Reply:
    async def video(stream: trio.SocketStream) -> None:
        while True:
            await stream.send_all(mjpeg_part(JPEG, "frame"))
            await trio.sleep(0.05)

    if req.path == "/video.mjpg":
        return Reply(200, {"Content-Type": "multipart/x-mixed-replace;boundary=frame"}, stream=video)
    return Reply(404)


async def test_a_second_daemon_on_the_state_dir_exits_2_and_touches_nothing(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    cam = FakeCam(mjpeg_handler)
    await nursery.start(cam.serve)
    state = tmp_path / "state"
    cfg = tmp_path / "r.toml"
    cfg.write_text(
        toml(
            {
                "daemon": {"state_dir": str(state), "http_listen": ""},
                "cameras.door": {
                    "dialect": "mjpeg",
                    "video_url": f"{cam.url}video.mjpg",
                    "triggers": [],
                    # one long segment: its .part stays open while the second daemon tries
                    "record": {"mode": "continuous", "segment": "10m"},
                },
            }
        )
    )
    async with run_daemon(cfg) as first:
        at = await first.wait_line("door: recording ")
        part = Path(first.lines[at].rsplit(" ", 1)[1])
        assert part.name.endswith(".part") and part.exists()

        code, lines = await run_to_exit(cfg)
        assert code == 2
        assert_one_clear_error(lines, f"state_dir {state} is in use by pid {first.proc.pid}")
        # the second daemon ran no recovery: the first one's open file is where it was
        size = part.stat().st_size
        assert part.exists() and not first.ended
        assert (state / LOCK_NAME).read_text().strip() == str(first.proc.pid)

        # commands that only read work beside the daemon
        code, lines = await run_to_exit(cfg, "recordings", "list")
        assert code == 0, lines
        code, lines = await run_to_exit(cfg, "events")
        assert code == 0, lines

        assert await first.stop() == 0
    assert "Traceback" not in first.log
    with Index.open(state) as ix:
        (row,) = ix.list_recordings("door")
    assert row.complete and row.path.exists() and row.path.stat().st_size >= size


async def test_a_daemon_killed_leaves_no_lock_behind(tmp_path: Path) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text(toml({"daemon": {"state_dir": str(tmp_path / "state"), "http_listen": ""}}))
    async with run_daemon(cfg) as first:
        await first.wait_line("running with")
        first.send(signal.SIGKILL)
        with trio.fail_after(10):
            await first.proc.wait()
    assert (tmp_path / "state" / LOCK_NAME).exists()  # the file stays; the kernel dropped the lock
    async with run_daemon(cfg) as second:
        await second.wait_line("running with", timeout=EXIT_TIMEOUT)
        assert await second.stop() == 0


async def test_http_port_in_use_names_the_address(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        listen = f"127.0.0.1:{busy.getsockname()[1]}"
        cfg = tmp_path / "r.toml"
        cfg.write_text(toml({"daemon": {"state_dir": str(tmp_path / "state"), "http_listen": listen}}))
        code, lines = await run_to_exit(cfg)
    assert code == 1
    assert_one_clear_error(lines, listen, "daemon.http_listen", "Address already in use")
    assert not (tmp_path / "state" / "index.sqlite3").exists()  # stopped before anything ran


async def test_state_dir_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    state = tmp_path / "file" / "state"
    cfg = tmp_path / "r.toml"
    cfg.write_text(toml({"daemon": {"state_dir": str(state), "http_listen": ""}}))
    code, lines = await run_to_exit(cfg)
    assert code == 1
    assert_one_clear_error(lines, f"state_dir {state}", "Not a directory")


def _can_mount_privately() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_privately(), reason="needs root and mount namespaces")
async def test_state_dir_on_a_read_only_filesystem(tmp_path: Path) -> None:
    """As under ProtectSystem=strict without a StateDirectory: the daemon's own mount namespace sees
    the state directory read-only (nothing outside the child is mounted)."""
    state = tmp_path / "state"
    state.mkdir()
    cfg = tmp_path / "r.toml"
    cfg.write_text(toml({"daemon": {"state_dir": str(state), "http_listen": ""}}))
    run = shlex.join([sys.executable, "-m", "recorderd", "run", "-c", str(cfg)])
    mount = shlex.join(["mount", "--bind", "-o", "ro", str(state), str(state)])
    with trio.fail_after(EXIT_TIMEOUT):
        done = await trio.run_process(
            ["unshare", "-m", "sh", "-c", f"{mount} && exec {run}"], capture_stderr=True, check=False
        )
    lines = done.stderr.decode(errors="replace").splitlines()
    assert done.returncode == 1
    assert_one_clear_error(lines, f"state_dir {state}", "Read-only file system")


async def test_broker_unreachable_at_start_is_said_once_and_the_daemon_runs(tmp_path: Path) -> None:
    """Not fatal: the cameras record and MQTT events wait in the outbox until the broker is back."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = closed.getsockname()[1]
        cfg = tmp_path / "r.toml"
        cfg.write_text(
            toml(
                {
                    "daemon": {"state_dir": str(tmp_path / "state"), "http_listen": "127.0.0.1:0"},
                    "mqtt": {"host": "127.0.0.1", "port": port},
                }
            )
        )
        async with run_daemon(cfg) as d:
            at = await d.wait_line(f"127.0.0.1:{port}", timeout=EXIT_TIMEOUT)
            assert "connection refused" in d.lines[at]
            base = await endpoint(d)
            async with httpx.AsyncClient(base_url=base, timeout=5) as c:
                assert (await c.get("/healthz")).status_code == 200  # alive ...
                r = await c.get("/readyz")  # ... not ready
                assert (r.status_code, r.text) == (503, "not ready: mqtt not connected\n")
            assert await d.stop() == 0
    assert "Traceback" not in d.log
    assert d.log.count("HTTP endpoint on") == 1 and "Running on" not in d.log  # said once, by us


async def endpoint(d: DaemonProcess) -> str:
    """The HTTP endpoint's base URL, once the daemon runs (it listens on port 0)."""
    line = d.lines[await d.wait_line("HTTP endpoint on ", timeout=EXIT_TIMEOUT)]
    await d.wait_line("running with")
    return line.rsplit(" ", 1)[1]


async def test_ready_once_every_camera_is_connected(tmp_path: Path, nursery: trio.Nursery) -> None:
    cam = FakeCam(mjpeg_handler)
    await nursery.start(cam.serve)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}/video.mjpg"
        cameras = {"door": f"{cam.url}video.mjpg", "shed": down}
        doc: dict[str, dict[str, Any]] = {
            "daemon": {"state_dir": str(tmp_path / "s"), "http_listen": "127.0.0.1:0"}
        }
        for name, url in cameras.items():
            doc[f"cameras.{name}"] = {
                "dialect": "mjpeg",
                "video_url": url,
                "triggers": [],
                "record": {"mode": "off"},
            }
        cfg = tmp_path / "r.toml"
        cfg.write_text(toml(doc))
        async with run_daemon(cfg) as d, httpx.AsyncClient(base_url=await endpoint(d), timeout=5) as c:
            await d.wait_line("door: connected")
            r = await c.get("/readyz")
            assert (r.status_code, r.text) == (503, "not ready: 1 of 2 cameras not connected\n")
            assert (await c.get("/api/status")).json()["ready"] is False
            assert await d.stop() == 0


async def test_mqtt_tls_file_missing_stops_the_start(tmp_path: Path) -> None:
    cfg = tmp_path / "r.toml"
    missing = tmp_path / "ca.pem"
    cfg.write_text(
        toml(
            {
                "daemon": {"state_dir": str(tmp_path / "state"), "http_listen": ""},
                "mqtt": {"host": "127.0.0.1", "port": 1, "tls": {"ca_file": str(missing)}},
            }
        )
    )
    code, lines = await run_to_exit(cfg)
    assert code == 1
    assert_one_clear_error(lines, f"mqtt.tls.ca_file {missing}", "No such file or directory")


async def test_config_error_exits_2_with_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text(
        toml(
            {
                "daemon": {"state_dir": str(tmp_path / "state")},
                "cameras.door": {"dialect": "mjpeg", "vidoe_url": "http://127.0.0.1:9/"},
            }
        )
    )
    code, lines = await run_to_exit(cfg)
    assert code == 2
    assert len(lines) == 2 and "Traceback" not in "\n".join(lines), lines
    assert f"{cfg}: cameras.door.video_url: missing" in lines[0]
    assert f"{cfg}: cameras.door.vidoe_url: unknown key" in lines[1]
    assert not (tmp_path / "state").exists()
