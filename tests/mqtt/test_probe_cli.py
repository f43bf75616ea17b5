"""`recorderd test -c FILE mqtt` against a real broker: success, and a clear code when it is down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from recorderd.cli import main


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "r.toml"
    path.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n')
    return path


def test_cli_probe(mosquitto: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "-c", str(_config(tmp_path, mosquitto.port)), "mqtt"]) == 0
    assert capsys.readouterr().out.startswith("mqtt: result 0: ")
    mosquitto.stop()
    assert main(["test", "-c", str(_config(tmp_path, mosquitto.port)), "mqtt"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("mqtt: result 1: ") and "Traceback" not in out


def test_cli_probe_without_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.toml"
    path.write_text("")
    assert main(["test", "-c", str(path), "mqtt"]) == 2
    assert "no [mqtt] section" in capsys.readouterr().err
