"""Playback's reading of a file: the frame table of the fast walk equals the general reader's, and
a seek by time (`frame_at`, which bisects the bytes instead of reading the table) shows the frame
the table says, in closed, growing, hostile and foreign files."""

from __future__ import annotations

import shutil
import subprocess
from bisect import bisect_right
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recorderd.recording.frames import AudioFormat
from recorderd.recording.index import RecordingRow
from recorderd.recording.mkv import AUDIO, VIDEO, MkvFile, Muxer, read_file
from recorderd.recording.mkv.spec import ID_CLUSTER
from recorderd.web import media
from recorderd.web.media import build, frame_at
from tests.support.synth import make_jpegs

CLUSTER_ID = ID_CLUSTER.to_bytes(4, "big")


def row_of(path: Path) -> RecordingRow:
    return RecordingRow(1, "front", path, datetime.now(UTC), None, 0, 0, "continuous", None, True)


def write(path: Path, jpegs: list[bytes], *, seconds: int = 6, audio_first: bool = True) -> None:
    """10 fps video; mu-law audio blocks of 100 ms, each laid 30 ms before its frame (so clusters
    begin with audio); closed cleanly."""
    muxer = Muxer(origin_wall=1_765_000_000.0, audio=AudioFormat(), tags={"camera": "front"})
    f = MkvFile(path, muxer)
    for n in range(seconds * 10):
        ts = 500 + n * 100 + (n % 3)  # not on a grid: a seek must find the exact frame
        chunks = [muxer.add_audio(ts - 30.0, bytes(800))] if audio_first else []
        chunks.append(muxer.add_video(ts, jpegs[n % len(jpegs)]))
        for chunk in chunks:
            if chunk:
                f.write(chunk)
    f.finish()
    f.close()


def assert_seeks_match_the_table(path: Path, mp: pytest.MonkeyPatch | None = None) -> None:
    """Every seek shows the table's frame; with `mp`, found without reading the table."""
    fi = build(row_of(path))
    assert fi.vts, "frames"
    if mp is not None:
        mp.setattr(media, "build", lambda row: pytest.fail("frame_at read the whole table"))
    o = fi.origin_ms
    times = [o + ts + d for ts in fi.vts for d in (-1, 0, 1, 37)] + [o - 5000, o, o + 10**8]
    for t in times:
        j = max(0, bisect_right(fi.vts, t - o) - 1)
        shown, jpeg = frame_at(row_of(path), t)
        assert shown == o + fi.vts[j], t
        assert jpeg == path.read_bytes()[fi.vpos[2 * j] : fi.vpos[2 * j + 1]]


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return make_jpegs(7)


def test_the_fast_table_is_the_general_readers(tmp_path: Path, jpegs: list[bytes]) -> None:
    path = tmp_path / "a.mkv"
    write(path, jpegs)
    fi = build(row_of(path))
    _, blocks = read_file(path)
    assert list(fi.vts) == [b.ts for b in blocks if b.track == VIDEO]
    assert list(fi.ats) == [b.ts for b in blocks if b.track == AUDIO]
    data = path.read_bytes()
    video = [b.data for b in blocks if b.track == VIDEO]
    assert [data[fi.vpos[2 * i] : fi.vpos[2 * i + 1]] for i in range(len(video))] == video


def test_seek_by_time_in_a_closed_file(
    tmp_path: Path, jpegs: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.mkv"
    write(path, jpegs)
    assert_seeks_match_the_table(path, monkeypatch)
    video_only = tmp_path / "v.mkv"
    write(video_only, jpegs, audio_first=False)
    assert_seeks_match_the_table(video_only, monkeypatch)


def test_seek_by_time_in_a_growing_file(
    tmp_path: Path, jpegs: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .part cut inside a cluster (as a reader sees a file being written): the whole clusters."""
    whole = tmp_path / "a.mkv"
    write(whole, jpegs)
    data = whole.read_bytes()
    cut = data.rfind(CLUSTER_ID) + 100
    part = tmp_path / "b.mkv.part"
    part.write_bytes(data[:cut])
    assert len(build(row_of(part)).vts) < len(build(row_of(whole)).vts)
    assert_seeks_match_the_table(part, monkeypatch)


def test_seek_by_time_when_frames_hold_the_cluster_id(
    tmp_path: Path, jpegs: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A camera's JPEG may hold a cluster's four ID bytes, and what looks like a cluster after them."""
    fake = CLUSTER_ID + b"\x85\xe7\x81\x05\xa3\x80"  # whole, its timestamp first, an empty block
    path = tmp_path / "a.mkv"
    write(path, [j[:-2] + fake + b"\x00" + CLUSTER_ID + b"\x81\x00" + fake + b"\xff\xd9" for j in jpegs])
    assert_seeks_match_the_table(path, monkeypatch)
    # crafted to pass every check (followed by another such cluster): still the right frame
    monkeypatch.undo()
    crafted = tmp_path / "b.mkv"
    write(crafted, [j[:-2] + fake + fake + b"\xff\xd9" for j in jpegs])
    assert_seeks_match_the_table(crafted)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg")
def test_seek_by_time_in_a_file_ffmpeg_wrote(tmp_path: Path, jpegs: list[bytes]) -> None:
    ours = tmp_path / "a.mkv"
    write(ours, jpegs)
    theirs = tmp_path / "ff.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(ours), "-c", "copy", str(theirs)], check=True, capture_output=True
    )
    assert_seeks_match_the_table(theirs)


def test_a_file_full_of_false_cluster_ids_is_answered_from_the_table(
    tmp_path: Path, jpegs: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search gives up after a bounded number of false IDs (a camera could send nothing else)."""
    path = tmp_path / "a.mkv"
    write(path, [j[:-2] + CLUSTER_ID * 1200 + b"\xff\xd9" for j in jpegs], seconds=2)
    tables: list[Path] = []

    def counted(row: RecordingRow) -> media.FileIndex:
        tables.append(row.path)
        return build(row)

    monkeypatch.setattr(media, "build", counted)
    assert_seeks_match_the_table(path)
    assert tables, "the bound never cut a search short"
