"""Export takes a recording's first frame when `--from` is the start the index lists for it.

The index keeps times to the microsecond (datetime) while a file's origin (DateUTC) is exact to the
nanosecond and its frames to the millisecond: a start rounded up by `datetime.fromtimestamp` lay
after the file's first frame, and `export --from <listed start>` left that frame out (found by
tests/e2e/test_continuous.py). Frames are now compared at the files' own resolution.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorderd.recording.export import export
from recorderd.recording.index import Index
from recorderd.recording.layout import recordings_root
from recorderd.recording.mkv import MkvFile, Muxer, read_file

# fromtimestamp rounds this up to .123457: the listed start is 0.3 µs after the first frame
ORIGIN = 1_700_000_000.1234567


def _recording(state: Path, jpegs: list[bytes], origin: float, name: str) -> tuple[Path, datetime, datetime]:
    day = recordings_root(state) / "cam" / "2023-11-14"
    day.mkdir(parents=True, exist_ok=True)
    muxer = Muxer(origin_wall=origin, audio=None, tags={"camera": "cam", "reason": "continuous"})
    f = MkvFile(day / name, muxer)
    for i, jpeg in enumerate(jpegs):
        chunk = muxer.add_video(i * 100, jpeg)
        if chunk:
            f.write(chunk)
    f.finish()
    f.close()
    start = datetime.fromtimestamp(origin, UTC)
    return f.path, start, datetime.fromtimestamp(origin + muxer.duration_ms / 1000, UTC)


def test_export_from_the_listed_start_keeps_the_first_frame(tmp_path: Path, jpegs: list[bytes]) -> None:
    assert datetime.fromtimestamp(ORIGIN, UTC).timestamp() > ORIGIN  # the case being tested
    a, a_start, a_end = _recording(tmp_path, jpegs[:10], ORIGIN, "221320-continuous.mkv")
    b, b_start, b_end = _recording(tmp_path, jpegs[10:20], ORIGIN + 1.0, "221321-continuous.mkv")
    with Index.open(tmp_path) as index:
        index.add_recording("cam", a, a_start, a_end, 10, a.stat().st_size, "continuous", complete=True)
        index.add_recording("cam", b, b_start, b_end, 10, b.stat().st_size, "continuous", complete=True)
        rows = index.list_recordings("cam")
        whole = export(index, "cam", rows[0].start, rows[-1].end or b_end, tmp_path / "all.mkv")
        # adjacent ranges split at the second file's listed start: each frame in exactly one
        first = export(index, "cam", rows[0].start, rows[1].start, tmp_path / "first.mkv")
        second = export(index, "cam", rows[1].start, b_end + timedelta(seconds=1), tmp_path / "second.mkv")
    assert whole.frames == 20
    assert [blk.data for blk in read_file(tmp_path / "all.mkv")[1]] == jpegs[:20]
    assert (first.frames, second.frames) == (10, 10)
