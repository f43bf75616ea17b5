"""`recorderd events`: incidents from the index as lines or JSON, filtered, and followed live."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorderd.cli import main
from recorderd.cli.events import parse_since
from recorderd.recording.index import Index


def write_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "r.toml"
    cfg.write_text(
        f"""
[daemon]
state_dir = "{tmp_path / "state"}"
timezone = "Europe/Berlin"
[cameras.front]
dialect = "vapix"
url = "http://127.0.0.1:1/"
[cameras.yard]
dialect = "foscam"
url = "http://127.0.0.1:1/"
"""
    )
    return cfg


def test_lists_filters_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    assert main(["events", "-c", str(cfg)]) == 0  # no index yet: nothing, no error
    assert capsys.readouterr().out == ""
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    state = tmp_path / "state"
    with Index.open(state) as ix:
        a = ix.start_incident("front", "motion", t0, True)
        ix.add_incident_trigger(a, "input:1")
        ix.end_incident(a, t0 + timedelta(seconds=12.5))
        b = ix.start_incident("yard", "motion", t0 + timedelta(hours=2), True)
        # a's clip (pre-trigger before it, post-trigger after), the file before it and one being written
        clip = state / "recordings/front/2026-03-01/125955-motion.mkv"
        ix.add_recording(
            "front",
            state / "recordings/front/x.mkv",
            t0 - timedelta(minutes=9),
            t0 - timedelta(minutes=8),
            10,
            1,
            "motion",
        )
        ix.add_recording(
            "front", clip, t0 - timedelta(seconds=5), t0 + timedelta(seconds=20), 250, 1, "motion", a
        )
        ix.add_recording(
            "yard", state / "recordings/yard/y.mkv.part", t0 + timedelta(hours=2), None, 0, 0, "motion"
        )
    assert main(["events", "-c", str(cfg)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "START                END       LENGTH  CAMERA  TRIGGERS        INCIDENT                      CLIP",
        f"2026-03-01 13:00:00  13:00:12   12.5s  front   motion,input:1  {a}  {clip}",
        f"2026-03-01 15:00:00  (open)            yard    motion          {b}   {state}/recordings/yard/y.mkv.part",
    ]
    assert main(["events", "-c", str(cfg), "--camera", "yard", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rows == [
        {
            "id": b,
            "camera": "yard",
            "trigger": "motion",
            "triggers": ["motion"],
            "start": "2026-03-01T14:00:00+00:00",
            "end": None,
            "armed": True,
            "clips": [f"{state}/recordings/yard/y.mkv.part"],
        }
    ]
    assert main(["events", "-c", str(cfg), "--since", "2026-03-01T14:00", "--json"]) == 0
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == [b]


def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    assert main(["events", "-c", str(cfg), "--since", "yesterday"]) == 2
    assert 'expected an ISO 8601 time or a duration like "1h", got "yesterday"' in capsys.readouterr().err
    assert main(["events", "-c", str(cfg), "--camera", "nope"]) == 2
    assert 'unknown camera "nope" (known: front, yard)' in capsys.readouterr().err
    assert main(["events", "-c", str(tmp_path / "missing.toml")]) == 2


def test_parse_since() -> None:
    from zoneinfo import ZoneInfo

    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_since("90m", berlin, now) == now - timedelta(minutes=90)
    assert parse_since("2026-03-01T08:00", berlin, now) == datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    assert parse_since("2026-03-01T08:00+00:00", berlin, now) == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_follow_prints_changes_as_they_happen(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    ix = Index.open(tmp_path / "state")
    proc = subprocess.Popen(
        [sys.executable, "-m", "recorderd", "events", "-c", str(cfg), "--follow", "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        t0 = datetime.now(UTC)
        iid = ix.start_incident("front", "motion", t0, True)
        first = json.loads(readline(proc, 10))
        assert first["id"] == iid and first["end"] is None
        ix.end_incident(iid, t0 + timedelta(seconds=3))
        second = json.loads(readline(proc, 10))
        assert second["id"] == iid and second["end"] is not None
    finally:
        proc.terminate()
        proc.wait(10)
        ix.close()


def readline(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "no line within the deadline"
    return proc.stdout.readline()
