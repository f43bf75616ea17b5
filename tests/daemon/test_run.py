"""`recorderd run`: starts, connects, writes incidents, and stops cleanly (exit 0) on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from recorderd.recording.index import Index
from tests.support.camfake import JPEG, FakeCam, Reply, Request, mjpeg_part

SECRET = "pa55-w0rd-xyz"


class Cam:
    def __init__(self) -> None:
        self.alarm = 0

    async def video(self, stream: trio.SocketStream) -> None:
        while True:
            await stream.send_all(mjpeg_part(JPEG, "ipcamera"))
            await trio.sleep(0.05)

    def __call__(self, req: Request) -> Reply:
        if req.path == "/videostream.cgi":
            return Reply(
                200, {"Content-Type": "multipart/x-mixed-replace;boundary=ipcamera"}, stream=self.video
            )
        if req.path == "/get_status.cgi":
            return Reply(200, {}, f"var alarm_status={self.alarm};\n".encode())
        return Reply(404)


async def wait_line(
    lines: list[str], stream: trio.abc.ReceiveStream, needle: str, timeout: float = 15
) -> None:
    buf = b""
    with trio.fail_after(timeout):
        while not any(needle in x for x in lines):
            chunk = await stream.receive_some(65536)
            if not chunk:
                raise AssertionError(f"daemon exited before {needle!r}; log:\n" + "\n".join(lines))
            buf += chunk
            *done, rest = buf.split(b"\n")
            lines += [d.decode() for d in done]
            buf = rest


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_run_records_an_incident_and_stops_cleanly(
    tmp_path: Path, nursery: trio.Nursery, sig: int
) -> None:
    script = Cam()
    cam = FakeCam(script, auth="query", password=SECRET)
    await nursery.start(cam.serve)
    cfg = tmp_path / "r.toml"
    cfg.write_text(
        f"""
[daemon]
state_dir = "{tmp_path / "state"}"
http_listen = ""
[cameras.yard]
dialect = "foscam"
url = "{cam.url}"
username = "admin"
password = "{SECRET}"
triggers = ["motion"]
poll_interval = "100ms"
record = {{ mode = "event", pre = "1s", post = "1s" }}
"""
    )
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "recorderd", "run", "-c", str(cfg)], stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        await wait_line(lines, proc.stderr, "yard: connected")
        script.alarm = 1
        await wait_line(lines, proc.stderr, "started by motion")
        script.alarm = 0
        await wait_line(lines, proc.stderr, "ended (ended)")
        proc.send_signal(sig)
        with trio.fail_after(10):
            code = await proc.wait()
        await wait_line(lines, proc.stderr, "stopped", timeout=2)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, "\n".join(lines)
    log = "\n".join(lines)
    assert SECRET not in log  # nor in any URL httpx might have logged
    assert "Traceback" not in log
    with Index.open(tmp_path / "state") as ix:
        rows = ix.list_incidents("yard")
        recs = ix.list_recordings("yard")
    assert len(rows) == 1 and rows[0].end is not None and rows[0].triggers == ("motion",)
    # the recorder was plugged in: the incident's clip was written and closed by the shutdown
    assert len(recs) == 1 and recs[0].incident == rows[0].id and recs[0].frames > 0
    assert recs[0].path.exists()


async def test_json_logs_and_level(tmp_path: Path) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text(
        f"""
[daemon]
state_dir = "{tmp_path / "state"}"
http_listen = ""
log_level = "warning"
"""
    )
    proc = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "recorderd",
            "run",
            "-c",
            str(cfg),
            "--log-format",
            "json",
            "--log-level",
            "info",
        ],
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        await wait_line(lines, proc.stderr, "running with")
        proc.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            code = await proc.wait()
        await wait_line(lines, proc.stderr, '"stopped"', timeout=2)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0
    records = [json.loads(x) for x in lines if x.strip()]
    running = next(r for r in records if r["message"].startswith("running with"))
    assert running["level"] == "info" and running["logger"] == "recorderd.daemon"  # --log-level wins
    assert running["message"].endswith("0 cameras, 0 connected, 0 incidents open")
