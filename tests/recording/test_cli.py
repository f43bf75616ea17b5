"""`recorderd recordings list|export`, run as the real command on recordings made by the recorder."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recorderd.recording.mkv import read_file
from tests.support.ffprobe import ffprobe, packet_md5s

RECORDERD = [sys.executable, "-m", "recorderd"]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A state dir with 10 s of continuous recording in 2 s segments, and a config pointing at it."""
    d = tmp_path_factory.mktemp("cli")
    r = subprocess.run(
        [sys.executable, "-m", "tests.support.feeder", "--state-dir", str(d / "state"), "--fast",
         "--seconds", "10", "--segment", "2s", "--timezone", "America/New_York"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    cfg = d / "recorderd.toml"
    cfg.write_text(
        f'[daemon]\nstate_dir = "{d / "state"}"\ntimezone = "America/New_York"\n\n'
        '[cameras.sim]\ndialect = "mjpeg"\nvideo_url = "http://127.0.0.1:1/v.mjpg"\n'
    )
    return cfg, d / "state"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RECORDERD, *args], capture_output=True, text=True, timeout=120)


def test_list_json_and_text(state: tuple[Path, Path]) -> None:
    cfg, state_dir = state
    r = run("recordings", "list", "-c", str(cfg), "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert 5 <= len(rows) <= 6
    for row in rows:
        assert set(row) >= {"camera", "path", "start", "end", "frames", "bytes", "reason", "complete"}
        assert Path(row["path"]).is_absolute() and Path(row["path"]).exists()
        assert Path(row["path"]).is_relative_to(state_dir / "recordings/sim")
        start, end = datetime.fromisoformat(row["start"]), datetime.fromisoformat(row["end"])
        assert start.utcoffset() in (timedelta(hours=-4), timedelta(hours=-5))  # New York, with offset
        assert row["complete"] is True and row["reason"] == "continuous" and end > start
        assert row["bytes"] == Path(row["path"]).stat().st_size
    assert sum(r["frames"] for r in rows) == 250
    text = run("recordings", "list", "-c", str(cfg))
    head, *lines = text.stdout.splitlines()
    assert text.returncode == 0 and len(lines) == len(rows)
    assert head.split() == ["START", "END", "LENGTH", "CAMERA", "REASON", "FRAMES", "SIZE", "STATE", "FILE"]
    # a table: every line's file starts where the header's FILE does, sizes in binary units
    assert {line.index(str(state_dir)) for line in lines} == {head.index("FILE")}
    assert all(" continuous " in x and " complete " in x and "iB " in x for x in lines)
    since = run("recordings", "list", "-c", str(cfg), "--json", "--since", rows[-1]["start"])
    assert len(since.stdout.splitlines()) in (1, 2)  # the last (and one ending exactly then)
    assert run("recordings", "list", "-c", str(cfg), "--camera", "nope").returncode == 2
    bad = run("recordings", "list", "-c", str(cfg), "--since", "yesterday-ish")
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr


def test_export_a_range_across_files(state: tuple[Path, Path], tmp_path: Path) -> None:
    cfg, _ = state
    rows = [
        json.loads(line) for line in run("recordings", "list", "-c", str(cfg), "--json").stdout.splitlines()
    ]
    t_from = datetime.fromisoformat(rows[1]["start"]) + timedelta(seconds=0.5)
    t_to = datetime.fromisoformat(rows[3]["end"]) - timedelta(seconds=0.5)
    want = []  # the source frames in [from, to), read back from the recordings
    us = timedelta(microseconds=1)  # export times frames in whole µs from the row's listed start
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for row in rows:
        _s, blocks = read_file(Path(row["path"]))
        origin = (datetime.fromisoformat(row["start"]) - epoch) // us - blocks[0].ts * 1000
        want += [
            b.data
            for b in blocks
            if b.track == 1 and (t_from - epoch) // us <= origin + b.ts * 1000 < (t_to - epoch) // us
        ]
    out = tmp_path / "out.mkv"
    r = run("recordings", "export", "-c", str(cfg), "--camera", "sim", "--from", t_from.isoformat(), "--to", t_to.isoformat(), str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "export: 1/" in r.stderr and f"wrote {out}" in r.stderr  # progress
    info = ffprobe(out)
    assert [s["codec_name"] for s in info["streams"]] == ["mjpeg", "pcm_mulaw"]
    assert int(info["streams"][0]["nb_read_packets"]) == len(want) > 100
    assert abs(float(info["format"]["duration"]) - len(want) / 25) < 0.1
    assert packet_md5s(out) == [hashlib.md5(d).hexdigest() for d in want]
    assert not list(tmp_path.glob("*.part"))
    empty = run("recordings", "export", "-c", str(cfg), "--camera", "sim", "--from", "2001-01-01T00:00", "--to", "2001-01-02T00:00", str(tmp_path / "x.mkv"))  # fmt: skip
    assert (
        empty.returncode == 1 and "no recordings of sim" in empty.stderr and not (tmp_path / "x.mkv").exists()
    )
