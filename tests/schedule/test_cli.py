"""`recorderd schedule show|query` as a real process: config file, argv, stdin, stdout, exit status.

The processes run `python -m recorderd.cli.schedule`, the same commands without the other stages'
parsers, so that these tests depend on this stage only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recorderd.cli.schedule import main

CONFIG = """
[daemon]
timezone = "Europe/Berlin"

[cameras.hall]
dialect = "mjpeg"
video_url = "http://127.0.0.1:9/video.mjpg"
schedule = { mon = ["08:00-12:00", "13:00-18:00"], sat = "22:00-06:00", "tue-fri" = "00:00-24:00" }
privacy = { sun = "02:30-04:00" }

[cameras.lordhowe]
dialect = "mjpeg"
video_url = "http://127.0.0.1:9/video.mjpg"
timezone = "Australia/Lord_Howe"
schedule = { foscam = { sun_0 = -1 } }

[cameras.yard]
dialect = "foscam"
url = "http://127.0.0.1:9/"
schedule = "camera"

[cameras.shed]
dialect = "mjpeg"
video_url = "http://127.0.0.1:9/video.mjpg"
schedule = "never"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "recorderd.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recorderd.cli.schedule", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_query_at(config: Path) -> None:
    r = run(
        "query", "-c", str(config), "hall", "--at", "2026-03-28T23:00", "--at", "2026-03-29T06:00:00+02:00"
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines == [
        {"at": "2026-03-28T23:00:00+01:00", "armed": True, "next_change": "2026-03-29T06:00:00+02:00"},
        {"at": "2026-03-29T06:00:00+02:00", "armed": False, "next_change": "2026-03-30T08:00:00+02:00"},
    ]


def test_query_privacy_and_camera_timezone(config: Path) -> None:
    r = run("query", "-c", str(config), "hall", "--privacy", "--at", "2026-03-29T01:00")
    assert json.loads(r.stdout) == {
        "at": "2026-03-29T01:00:00+01:00",
        "armed": False,
        "next_change": "2026-03-29T03:00:00+02:00",  # 02:30 does not exist that night
    }
    # the camera's own zone: naive times are Lord Howe wall time, answers in Lord Howe
    r = run("query", "-c", str(config), "lordhowe", "--at", "2026-10-04T00:10")
    assert json.loads(r.stdout) == {
        "at": "2026-10-04T00:10:00+10:30",
        "armed": True,
        "next_change": "2026-10-04T08:00:00+11:00",
    }


def test_query_stdin_many_lines(config: Path) -> None:
    times = [f"2026-03-{d:02d}T{h:02d}:{m:02d}:00" for d in range(23, 31) for h in range(24) for m in (0, 30)]
    r = run("query", "-c", str(config), "hall", stdin="\n".join(times) + "\n\n")
    assert r.returncode == 0, r.stderr
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(answers) == len(times) == 384
    by_at = {a["at"]: a for a in answers}
    assert by_at["2026-03-23T07:30:00+01:00"] == {
        "at": "2026-03-23T07:30:00+01:00",
        "armed": False,
        "next_change": "2026-03-23T08:00:00+01:00",
    }
    assert by_at["2026-03-29T05:30:00+02:00"]["armed"] is True
    never = run("query", "-c", str(config), "shed", stdin="2026-01-01T00:00:00Z\n")
    assert json.loads(never.stdout) == {
        "at": "2026-01-01T01:00:00+01:00",
        "armed": False,
        "next_change": None,
    }


def test_query_bad_stdin_line_names_it(config: Path) -> None:
    r = run("query", "-c", str(config), "hall", stdin="2026-01-05T08:00\n\nnot a time\n2026-01-05T09:00\n")
    assert r.returncode == 2
    assert len(r.stdout.splitlines()) == 1  # the answer before the bad line was given
    assert r.stderr == (
        "recorderd schedule query: stdin line 3: expected an ISO 8601 time like "
        '2026-03-29T02:30:00+01:00, got "not a time"\n'
    )
    r = run("query", "-c", str(config), "hall", "--at", "2026-01-05", "--at", "yesterday")
    assert r.returncode == 2 and r.stdout == ""
    assert "--at #2: expected an ISO 8601 time" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("camera", "message"),
    [
        ("yard", 'camera "yard": schedule is "camera": it is kept by the camera'),
        ("gate", 'unknown camera "gate" (cameras: hall, lordhowe, shed, yard)'),
    ],
)
def test_query_cannot_answer(config: Path, camera: str, message: str) -> None:
    for cmd in ("query", "show"):
        r = run(cmd, "-c", str(config), camera, "--at" if cmd == "query" else "--from", "2026-01-01T00:00")
        assert r.returncode == 2
        assert message in r.stderr and "Traceback" not in r.stderr
        assert r.stdout == ""


def test_show_near_the_end_of_time(config: Path) -> None:
    """The next changes of 9999-12-30 lie past the year 9999: a message, no traceback."""
    r = run("show", "-c", str(config), "hall", "--from", "9999-12-30T00:00")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (
        "recorderd schedule show: cannot answer: the time or its next changes lie outside the years 1-9999\n"
    )
    r = run("show", "-c", str(config), "hall", "--from", "0001-01-01T00:00")
    assert r.returncode == 0, r.stderr


def test_bad_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[cameras.hall]\ndialect = "mjpeg"\nvideo_url = "http://x/"\nschedule = { mon = "8-9" }\n'
    )
    r = run("query", "-c", str(path), "hall", "--at", "2026-01-01T00:00")
    assert r.returncode == 2
    assert "cameras.hall.schedule" in r.stderr and "Traceback" not in r.stderr


def test_show(config: Path) -> None:
    r = run("show", "-c", str(config), "hall", "--from", "2026-03-28T12:00")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == 'camera "hall" schedule (Europe/Berlin): off at 2026-03-28T12:00:00+01:00'
    grid = lines[2:9]
    assert [row[:4] for row in grid] == ["mon ", "tue ", "wed ", "thu ", "fri ", "sat ", "sun "]
    assert grid[0][4:] == "." * 32 + "#" * 16 + "." * 4 + "#" * 20 + "." * 24
    assert grid[5][4:] == "." * 88 + "#" * 8
    assert lines[-6:] == [
        "next changes:",
        "  2026-03-28T22:00:00+01:00  on",
        "  2026-03-29T06:00:00+02:00  off",
        "  2026-03-30T08:00:00+02:00  on",
        "  2026-03-30T12:00:00+02:00  off",
        "  2026-03-30T13:00:00+02:00  on",
    ]
    r = run("show", "-c", str(config), "shed")
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "never changes: always off"


def test_in_process(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "-c", str(config), "hall", "--at", "2026-01-06T12:00:00+01:00"]) == 0
    assert json.loads(capsys.readouterr().out)["next_change"] == "2026-01-10T00:00:00+01:00"  # end of Friday
