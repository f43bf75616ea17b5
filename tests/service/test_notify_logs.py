"""sd_notify over real datagram sockets, logging formats and secret masking, the unit file."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from recorderd.service.logs import SECRETS, setup_logging
from recorderd.service.notify import Notifier

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)
    SECRETS.secrets.clear()


def _recv_all(sock: socket.socket) -> list[str]:
    sock.settimeout(2)
    return [sock.recv(4096).decode()]


def test_notify_path_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind(str(path))
        n = Notifier(
            {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
        )
        assert n.enabled and n.watchdog_interval == 2.0
        assert n.ready("2 cameras")
        assert _recv_all(srv) == ["READY=1\nSTATUS=2 cameras"]
        assert n.watchdog()
        assert _recv_all(srv) == ["WATCHDOG=1"]
        assert n.reloading()
        msg = _recv_all(srv)[0]
        assert msg.startswith("RELOADING=1\nMONOTONIC_USEC=")
        assert n.stopping()
        assert _recv_all(srv) == ["STOPPING=1"]
        n.close()


def test_notify_abstract_socket() -> None:
    name = f"recorderd-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind(b"\0" + name.encode())
        n = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert n.status("hello")
        assert _recv_all(srv) == ["STATUS=hello"]
        n.close()


def test_notify_absent_or_broken(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert not Notifier({}).enabled
    assert not Notifier({}).ready()
    broken = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert not broken.ready()
    assert not broken.watchdog()
    assert sum("cannot notify" in r.message for r in caplog.records) == 1  # said once, not per ping


def test_watchdog_for_another_pid_is_ignored() -> None:
    n = Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert n.watchdog_interval is None
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "0"}).watchdog_interval is None


def test_logging_text_masks_secrets() -> None:
    out = io.StringIO()
    setup_logging("info", "text", out, timestamps=False)
    SECRETS.add(["hunter2-secret"])
    logging.getLogger("recorderd.test").warning("login with %s failed", "hunter2-secret")
    logging.getLogger("recorderd.test").debug("not shown")
    text = out.getvalue()
    assert text == "WARNING recorderd.test: login with *** failed\n"


def test_logging_masks_secrets_in_tracebacks() -> None:
    for fmt in ("text", "json"):
        out = io.StringIO()
        setup_logging("info", fmt, out)
        SECRETS.add(["pwd=hunter2-secret"])
        try:
            raise RuntimeError("GET /get_status.cgi?user=admin&pwd=hunter2-secret failed")
        except RuntimeError:
            logging.getLogger("recorderd.test").exception("camera yard")
        text = out.getvalue()
        assert "RuntimeError" in text and "***" in text
        assert "hunter2-secret" not in text


def test_logging_json() -> None:
    out = io.StringIO()
    setup_logging("debug", "json", out)
    logging.getLogger("recorderd.cam").info("connected", extra={"camera": "front"})
    rec = json.loads(out.getvalue())
    assert rec["message"] == "connected" and rec["camera"] == "front" and rec["level"] == "info"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_unit_file_verifies(tmp_path: Path) -> None:
    unit = (ROOT / "systemd" / "recorderd.service").read_text()
    exe = shutil.which("recorderd") or "/bin/true"
    (tmp_path / "recorderd.service").write_text(unit.replace("/opt/recorderd/bin/recorderd", exe))
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "recorderd.service")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    for key in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "User=recorderd",
        "StateDirectory=",
        "ConfigurationDirectory=",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=",
    ):
        assert key in unit
