"""Cameras that never work, as a user meets them: `recorderd run` (a real process) against an HTML page
served by `python -m http.server` (another process), a TCP port that accepts and says nothing, a
port that refuses, and a simulated camera given the wrong password. From the first attempt on,
/api/status, /metrics and the log say the current state and why; none of them ever counts as
connected, and the HTML page is asked once, not again and again."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import trio

from recorderd.sim import open_simulator
from tests.support.daemonharness import DaemonProcess, run_daemon, toml
from tests.support.simharness import sim_config

HTML = "<!doctype html><html><head><title>Login</title></head><body>Please log in</body></html>\n"


@contextmanager
def html_server(root: Path) -> Iterator[int]:
    """`python -m http.server` on a free loopback port, serving `root` (index.html at /)."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _wait_listening(port: int) -> None:
    with trio.fail_after(20):
        while True:
            try:
                (await trio.open_tcp_stream("127.0.0.1", port)).socket.close()
                return
            except OSError:
                await trio.sleep(0.05)


async def endpoint(d: DaemonProcess) -> str:
    at = await d.wait_line("HTTP endpoint on ", timeout=30)
    url = re.search(r"HTTP endpoint on (http://\S+?)[,\s]*$", d.lines[at])
    assert url is not None
    return url.group(1)


async def wait_status(http: httpx.AsyncClient, ok: Any, timeout: float = 20.0) -> dict[str, Any]:
    """The status JSON once `ok(cameras)` holds (the status has no events to wait on)."""
    with trio.fail_after(timeout):
        while True:
            cams: dict[str, Any] = (await http.get("/api/status")).json()["cameras"]
            if ok(cams):
                return cams
            await trio.sleep(0.2)


def failures(metrics: str, camera: str, reason: str) -> int:
    m = re.search(
        rf'recorderd_camera_stream_failures_total\{{camera="{camera}",reason="{reason}",stream="video"\}} (\d+)',
        metrics,
    )
    return int(float(m.group(1))) if m else 0


async def test_cameras_that_never_work_say_why_from_the_first_attempt(tmp_path: Path) -> None:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text(HTML)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts (the kernel does), never answers
    refused = _free_port()
    async with open_simulator(sim_config({"cam": {"dialect": "vapix", "audio": "none"}})) as sim:
        with html_server(tmp_path / "www") as html_port, silent:
            await _wait_listening(html_port)
            plain = {
                "dialect": "mjpeg",
                "triggers": [],
                "record": {"mode": "continuous"},
                "read_timeout": "2s",
            }
            doc: dict[str, dict[str, Any]] = {
                "daemon": {"state_dir": str(tmp_path / "state"), "http_listen": "127.0.0.1:0"},
                "cameras.html": {**plain, "video_url": f"http://127.0.0.1:{html_port}/"},
                "cameras.silent": {
                    **plain,
                    "video_url": f"http://127.0.0.1:{silent.getsockname()[1]}/v.mjpg",
                },
                "cameras.never": {**plain, "video_url": f"http://127.0.0.1:{refused}/video.mjpg"},
                "cameras.wrongpw": {
                    **plain,
                    "video_url": sim["cam"].video_url,
                    "username": "admin",
                    "password": "not-the-password",
                },
            }
            (tmp_path / "recorderd.toml").write_text(toml(doc))
            async with run_daemon(tmp_path / "recorderd.toml") as d:
                async with httpx.AsyncClient(base_url=await endpoint(d), timeout=10) as http:
                    cams = await wait_status(
                        http,
                        lambda c: (
                            c["silent"]["last_error"]
                            and c["never"]["streams"]["video"]["failures"].get("refused", 0) >= 2
                        ),
                    )
                    metrics = (await http.get("/metrics")).text
                log = d.log
    html, never, quiet, wrong = cams["html"], cams["never"], cams["silent"], cams["wrongpw"]
    for cam in (html, never, quiet, wrong):
        assert cam["connected"] is False and cam["state"] == ("refused" if cam is html else "connecting"), cam
        assert cam["last_error"] and cam["last_error_at"] and cam["failures"] >= 1, cam
        assert cam["streams"]["video"]["last_success"] is None, cam
    # the HTML page: refused once, with the reason; asked again in minutes, not seconds
    v = html["streams"]["video"]
    assert v["state"] == "refused" and v["failures"] == {"content_type": 1} and v["attempts"] == 1, v
    assert v["last_error"] == "GET /: not a multipart stream (text/html)"
    assert v["retry_in"] > 200, v
    assert log.count("not a multipart stream (text/html)") == 1, log
    # the refused port: each attempt counted, retried within seconds
    v = never["streams"]["video"]
    assert v["state"] in ("down", "connecting") and v["last_error"] == "GET /video.mjpg: connection refused"
    assert failures(metrics, "never", "refused") >= 2, metrics
    # the silent port: no answer within the read timeout
    v = quiet["streams"]["video"]
    assert v["last_error"] == "GET /v.mjpg: no answer within 2s" and v["failures"]["timeout"] >= 1, v
    # the wrong password: said as such, retried slowly (cameras lock out clients that keep guessing)
    v = wrong["streams"]["video"]
    assert "401 Unauthorized (wrong username or password" in v["last_error"] and v["failures"]["auth"] >= 1, v
    assert 'recorderd_camera_stream_up{camera="wrongpw",stream="video"} 0.0' in metrics
    assert 'recorderd_camera_stream_refused{camera="html",stream="video"} 1.0' in metrics
    assert failures(metrics, "html", "content_type") == 1
    # the log named each camera's reason, and nothing was ever connected
    for name, said in (
        ("never", "connection refused"),
        ("silent", "no answer within 2s"),
        ("wrongpw", r"401 Unauthorized \(wrong username or password"),
    ):
        assert re.search(rf"{name}: GET /\S*: {said}", log), (name, log)
    assert ": connected" not in log and "disconnected" not in log, log
