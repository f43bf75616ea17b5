"""`recorderd run`: starts, connects, writes incidents, and stops cleanly (exit 0) on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import trio

from recorderd.recording.index import Index
from tests.support.camfake import JPEG, FakeCam, Reply, Request, mjpeg_part
from tests.support.daemonharness import run_daemon

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
    async with run_daemon(cfg) as d:
        await d.wait_line("yard: connected")
        script.alarm = 1
        await d.wait_line("started by motion")
        script.alarm = 0
        await d.wait_line("ended (ended)")
        code = await d.stop(sig, timeout=10)
        await d.wait_line("stopped", timeout=2)
    assert code == 0, d.log
    log = d.log
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
    async with run_daemon(cfg, args=["--log-format", "json", "--log-level", "info"]) as d:
        await d.wait_line("running with")
        code = await d.stop(signal.SIGINT, timeout=10)
        await d.wait_line('"stopped"', timeout=2)
    assert code == 0
    records = [json.loads(x) for x in d.lines if x.strip()]
    running = next(r for r in records if r["message"].startswith("running with"))
    assert running["level"] == "info" and running["logger"] == "recorderd.daemon"  # --log-level wins
    assert running["message"].endswith("0 cameras, 0 connected, 0 incidents open")
