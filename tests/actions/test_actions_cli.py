"""`recorderd test -c FILE TARGET` against real servers: codes, exit statuses, no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorderd.cli import main
from tests.support.targets import FtpServer, HttpReceiver, SmtpServer


def write(tmp_path: Path, smtp: int, ftp: int, http: str, ftp_password: str = "secret") -> Path:
    p = tmp_path / "recorderd.toml"
    p.write_text(
        f"""
[daemon]
state_dir = "{tmp_path}/state"

[targets.mail]
kind = "email"
host = "127.0.0.1"
port = {smtp}
security = "none"
from = "a@example.org"
to = ["b@example.org", "c@example.org"]
timeout = "5s"

[targets.nas]
kind = "ftp"
host = "127.0.0.1"
port = {ftp}
username = "cam"
password = "{ftp_password}"
timeout = "5s"

[targets.hook]
kind = "http"
url = "{http}alarm?camera={{camera}}"
timeout = "5s"

[cameras.gate]
dialect = "vapix"
url = "{http}"

[cameras.door]
dialect = "mjpeg"
video_url = "{http}video"
triggers = []
"""
    )
    return p


def test_each_kind_succeeds_with_code_0(
    tmp_path: Path, smtp_server: SmtpServer, ftp_server: FtpServer, http_receiver: HttpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    cfg = write(tmp_path, smtp_server.port, ftp_server.port, http_receiver.url)
    for target in ("mail", "nas", "hook", "gate:preset:2"):
        assert main(["test", "-c", str(cfg), target]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in out] == [
        "mail: result 0: success",
        "nas: result 0: success",
        "hook: result 0: success",
        "gate:preset:2: result 0: success",
    ]
    assert len(smtp_server.box.messages) == 1
    assert ftp_server.received and ftp_server.received[0].endswith("recorderd-test.txt.part")
    assert not [f for f in ftp_server.files() if f.endswith("recorderd-test.txt")]  # removed again
    assert [(r.path, dict(r.query)) for r in http_receiver.requests] == [
        ("/alarm", {"camera": "test"}),
        ("/com/ptz.cgi", {"gotoserverpresetno": "2"}),
    ]


def test_failures_print_the_foscam_result_codes(
    tmp_path: Path, smtp_server: SmtpServer, ftp_server: FtpServer, http_receiver: HttpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    cfg = write(tmp_path, smtp_server.port, ftp_server.port, http_receiver.url, ftp_password="wr0ng-pw")
    smtp_server.box.reject = {"c@example.org"}
    http_receiver.statuses = [500]
    assert main(["test", "-c", str(cfg), "mail"]) == 1
    assert main(["test", "-c", str(cfg), "nas"]) == 1
    assert main(["test", "-c", str(cfg), "hook"]) == 1
    smtp_server.stop()
    assert main(["test", "-c", str(cfg), "mail"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "mail: result 7: recipient rejected (refused: c@example.org)"
    assert lines[1].startswith("nas: result 5: wrong user or password")
    assert (
        lines[2]
        == "hook: result 3: server error (status other than 2xx) (hook: HTTP 500 Internal Server Error)"
    )
    assert lines[3].startswith("mail: result 1: cannot connect to the server")
    assert "wr0ng-pw" not in out


def test_config_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write(tmp_path, 1, 1, "http://127.0.0.1:9/")
    assert main(["test", "-c", str(cfg), "nope"]) == 2
    assert main(["test", "-c", str(cfg), "gate:output:x"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[targets.x]\nkind = 'pigeon'\n")
    assert main(["test", "-c", str(bad), "x"]) == 2
    err = capsys.readouterr().err
    assert 'unknown target "nope"' in err and "gate:output:N" in err and "gate:preset:N" in err
    assert "door:" not in err  # a plain MJPEG URL has no relay or preset CGI: not offered
    assert "targets.x" in err
    assert main(["test", "-c", str(cfg), "door:output:1"]) == 2
    assert 'camera "door" (mjpeg) has no CGI for a relay output' in capsys.readouterr().err
