"""`recorderd simulate`: --list without serving, serving until SIGINT, errors without a traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import trio

from recorderd.sim import load_sim_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "sim.example.toml"
CLI = [sys.executable, "-m", "recorderd"]
KEYS = {"name", "dialect", "url", "username", "password"}


def test_example_config_has_one_camera_per_dialect_and_a_scenario() -> None:
    cfg = load_sim_config(EXAMPLE)
    assert sorted(c.dialect for c in cfg.cameras.values()) == sorted(
        ["ipcamcgi", "openapi", "vapix", "foscam", "move", "mjpeg"]
    )
    assert all(c.scenario for c in cfg.cameras.values())


def test_list_without_serving() -> None:
    done = subprocess.run(
        [*CLI, "simulate", "-c", str(EXAMPLE), "--list"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["dialect"] for e in entries] == ["ipcamcgi", "openapi", "vapix", "foscam", "move", "mjpeg"]
    assert all(set(e) >= KEYS for e in entries)
    assert entries[0]["url"] == "http://127.0.0.1:18080/" and entries[0]["password"] == "door-secret"
    assert entries[4]["video_url"] == "http://127.0.0.1:18086/"  # move: its own stream port


def test_list_with_picked_ports_says_null(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('[cameras.a]\ndialect = "vapix"\n')
    done = subprocess.run(
        [*CLI, "simulate", "-c", str(tmp_path / "s.toml"), "--list"], capture_output=True, text=True
    )
    entry = json.loads(done.stdout)
    assert entry["url"] is None and entry["video_url"] is None and entry["username"] == "admin"


def test_bad_config_exits_2_with_every_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[cameras.a]\ndialect = "vapix"\nfps = 0\ncolour = "red"\n[[cameras.a.scenario]]\nat = "soon"\n'
    )
    done = subprocess.run([*CLI, "simulate", "-c", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert f"{bad}: cameras.a.fps: expected a value greater than 0, got 0" in lines
    assert f"{bad}: cameras.a.colour: unknown key" in lines
    assert any(line.startswith(f"{bad}: cameras.a.scenario.0.at: expected a duration") for line in lines)


async def test_serve_prints_urls_and_stops_on_sigint(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        '[simulator]\ncontrol_port = 0\n[cameras.a]\ndialect = "foscam"\npassword = "pw"\n'
        '[cameras.b]\ndialect = "move"\n'
    )
    proc = await trio.lowlevel.open_process(
        [*CLI, "simulate", "-c", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout and proc.stderr
        buf = b""
        with trio.fail_after(30):
            while buf.count(b"\n") < 2:
                buf += await proc.stdout.receive_some(4096)
        a, b = (json.loads(line) for line in buf.decode().splitlines()[:2])
        assert a["name"] == "a" and a["url"].startswith("http://127.0.0.1:") and a["password"] == "pw"
        assert b["video_url"] != b["url"]
        async with httpx.AsyncClient() as client:
            r = await client.get(a["url"] + "get_status.cgi?user=admin&pwd=pw")
            assert "var alarm_status=0;" in r.text
        proc.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            code = await proc.wait()
        err = await proc.stderr.receive_some(65536)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, err
    assert b"2 cameras serving; control API http://127.0.0.1:" in err and b"Traceback" not in err


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        (tmp_path / "s.toml").write_text(f'[cameras.a]\ndialect = "mjpeg"\nport = {port}\n')
        done = subprocess.run(
            [*CLI, "simulate", "-c", str(tmp_path / "s.toml")], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1 and "cannot listen" in done.stderr and "Traceback" not in done.stderr
