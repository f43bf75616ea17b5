"""`recorderd demo` as a user runs it: a subprocess, its account on stdout, the files and the index it leaves.

The 20 s run is the proof of issue 9: recordings of every dialect that ffprobe reads, rows in
`recorderd recordings list`, and an account that names connections, incidents, files and (with
mosquitto installed) MQTT messages. A second run without mosquitto on PATH is stopped with Ctrl-C.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from recorderd.demo import plan
from tests.support.ffprobe import check_recordings, ffprobe

CAMERAS = [c.name for c in plan.CAMERAS]
SCRIPTED = [c.name for c in plan.CAMERAS if c.trigger]


def recorderd(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recorderd", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def account_lines(stdout: str, kind: str) -> list[list[str]]:
    """The account's `<t>s  <kind>  <who>  <text>` lines of one kind, split in words."""
    out = []
    for line in stdout.splitlines():
        words = line.split()
        if len(words) >= 3 and re.fullmatch(r"\d+\.\ds", words[0]) and words[1] == kind:
            out.append(words[2:])
    return out


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_demo_20s_records_every_dialect(demo_dir: Path, tmp_path: Path) -> None:
    mqtt = shutil.which("mosquitto") is not None
    r = recorderd("demo", "--dir", str(demo_dir), "--duration", "20", cwd=tmp_path, timeout=90)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    assert "Traceback" not in out + r.stderr
    assert not [x for x in r.stderr.splitlines() if x.startswith(("ERROR", "CRITICAL"))], r.stderr

    # the account: connections, incidents (start and end), files, actions, MQTT
    assert {w[0] for w in account_lines(out, "connected")} == set(CAMERAS), out
    incidents = account_lines(out, "incident")
    assert {w[0] for w in incidents if w[1] == "start"} == set(SCRIPTED), out
    assert {w[0] for w in incidents if w[1] == "end"} == set(SCRIPTED), out
    for cam in plan.CAMERAS:
        if cam.trigger:
            assert [cam.name, "start", cam.trigger] in [w[:3] for w in incidents], out
    written = account_lines(out, "file")
    assert {w[0] for w in written} == set(CAMERAS), out
    assert account_lines(out, "action")[0][0] == "openapi", out
    if mqtt:
        topics = {w[0]: w[1:] for w in account_lines(out, "mqtt")}
        for name in SCRIPTED:
            assert f"{plan.TOPIC}/{name}/events" in topics, out
        assert topics[f"{plan.TOPIC}/available"] == ["offline"], out  # the will, at the stop
        assert "MQTT messages" in out
    else:
        assert "skipped: mosquitto is not installed" in out

    # the end: where the recordings are, how to play one, how to list them
    play = re.search(r"^Play one: +(\S+) (\S+)$", out, re.M)
    assert play is not None, out
    assert Path(play.group(2)).is_file()
    assert f"recordings list -c {demo_dir / 'recorderd.toml'}" in out

    # the files: every dialect, closed, agreeing with the index, read by ffprobe
    assert check_recordings(demo_dir) == []
    for name in CAMERAS:
        files = sorted((demo_dir / "recordings" / name).glob("*/*.mkv"))
        assert files, f"no recording of {name}"
        streams = ffprobe(files[0])["streams"]
        assert streams[0]["codec_name"] == "mjpeg"
        if name == "vapix":
            assert [s["codec_name"] for s in streams[1:]] == ["pcm_mulaw"]
    assert not list(demo_dir.rglob("*.part"))

    # the other commands work on the demo's state through the config it wrote
    assert recorderd("check-config", "-c", str(demo_dir / "recorderd.toml"), cwd=tmp_path).returncode == 0
    listed = recorderd("recordings", "list", "--json", "-c", str(demo_dir / "recorderd.toml"), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(x) for x in listed.stdout.splitlines()]
    assert {row["camera"] for row in rows} == set(CAMERAS)
    assert all(row["complete"] and row["frames"] > 0 for row in rows)
    for row in rows:
        if row["reason"] != "continuous":  # pre 2 s + trigger 3 s + post 3 s
            assert row["frames"] >= 60, row
    events = recorderd("events", "--json", "-c", str(demo_dir / "recorderd.toml"), cwd=tmp_path)
    assert sorted(json.loads(x)["camera"] for x in events.stdout.splitlines()) == sorted(SCRIPTED)


async def test_demo_without_mqtt_stops_on_ctrl_c(demo_dir: Path, tmp_path: Path) -> None:
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "recorderd", "demo", "--dir", str(demo_dir), "--duration", "0", "--no-mqtt"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    buf = b""
    try:
        with trio.fail_after(30):
            # an event clip being written (not only the continuous camera's file)
            while not [w for w in account_lines(buf.decode(), "recording") if w[0] in SCRIPTED]:
                chunk = await proc.stdout.receive_some(65536)
                assert chunk, "the demo ended before its first clip:\n" + buf.decode()
                buf += chunk
        # the daemon's HTTP endpoint on the port it picked: the status of every camera
        url = re.search(r"^status: +(http://127\.0\.0\.1:\d+/api/status) ", buf.decode(), re.M)
        assert url is not None, buf.decode()
        status = (await trio.to_thread.run_sync(lambda: httpx.get(url.group(1), timeout=10))).json()
        assert set(status["cameras"]) == set(CAMERAS), status
        proc.send_signal(signal.SIGINT)
        with trio.fail_after(30):
            while chunk := await proc.stdout.receive_some(65536):
                buf += chunk
            err = b""
            while chunk := await proc.stderr.receive_some(65536):
                err += chunk
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
    out = buf.decode()
    assert proc.returncode == 0, out + err.decode()
    assert "Traceback" not in out + err.decode()
    assert "mqtt:    skipped: --no-mqtt" in out
    assert not account_lines(out, "mqtt")
    assert "Stopped (SIGINT)" in out
    assert "Play one:" in out
    # the clip open at Ctrl-C: closed by the stop, reported, and whole
    clip = next(w[0] for w in account_lines(out, "recording") if w[0] in SCRIPTED)
    assert clip in {w[0] for w in account_lines(out, "file")}, out
    assert check_recordings(demo_dir, with_ffprobe=False) == []
    assert "[mqtt]" not in (demo_dir / "recorderd.toml").read_text()


def test_demo_dir_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = recorderd("demo", "--dir", str(blocker / "demo"), "--duration", "5", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith(f"recorderd demo: {blocker / 'demo'} is not a writable directory: ")
    assert "Traceback" not in r.stderr


def test_demo_port_not_bound(tmp_path: Path) -> None:
    """Every listen fails (as on a machine without loopback): one clear line, exit 1."""
    code = (
        "import errno, sys, trio\n"
        "async def refuse(*a, **k):\n"
        "    raise OSError(errno.EADDRNOTAVAIL, 'Cannot assign requested address')\n"
        "trio.open_tcp_listeners = refuse\n"
        "from recorderd.cli import main\n"
        "sys.exit(main(['demo', '--dir', sys.argv[1], '--duration', '5']))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "demo")], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr == "recorderd demo: cannot bind a loopback port: Cannot assign requested address\n"
