"""Start-up recovery (index and files agree again) and retention (what goes, oldest first)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorderd.config.model import StorageConfig
from recorderd.config.units import Usage
from recorderd.recording.frames import AudioFormat
from recorderd.recording.index import Index, RecordingRow
from recorderd.recording.layout import part_of, recordings_root
from recorderd.recording.mkv import MkvFile, Muxer, scan_file
from recorderd.recording.recovery import recover
from recorderd.recording.retention import FsState, Storage, plan, state_files_bytes
from tests.support.ffprobe import ffprobe
from tests.support.synth import mulaw_block

T0 = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def a_file(path: Path, jpegs: list[bytes], seconds: float, *, finish: bool, tags: dict[str, str]) -> MkvFile:
    path.parent.mkdir(parents=True, exist_ok=True)
    mux = Muxer(origin_wall=T0.timestamp(), audio=AudioFormat(), tags=tags)
    f = MkvFile(path, mux)
    for i in range(int(seconds * 25)):
        for chunk in (
            mux.add_video(i * 40, jpegs[i % len(jpegs)]),
            mux.add_audio(i * 40.0, mulaw_block(i, 320)),
        ):
            if chunk:
                f.write(chunk)
    if finish:
        f.finish()
    f.close()
    return f


def test_recovery_brings_index_and_files_together(tmp_path: Path, jpegs: list[bytes]) -> None:
    index = Index.open(tmp_path)
    root = recordings_root(tmp_path)
    day = root / "front/2025-06-15"
    tags = {"camera": "front", "reason": "motion", "incident": "inc-7"}
    # a) a crash mid-cluster while writing
    torn = part_of(day / "140000-motion.mkv")
    a_file(torn, jpegs, 4.0, finish=False, tags=tags)
    os.truncate(torn, torn.stat().st_size - 1000)
    index.add_recording("front", torn, T0, None, 0, 0, "motion", "inc-7")
    # b) a crash before the first cluster: nothing playable
    empty = part_of(day / "140100-motion.mkv")
    empty.write_bytes(b"")
    index.add_recording("front", empty, T0, None, 0, 0, "motion")
    # c) a row whose file is gone
    index.add_recording("front", day / "130000-motion.mkv", T0, T0, 10, 10, "motion", complete=True)
    # d) a finished file the index never heard of (crash between rename and row), row still on .part
    done = day / "140200-continuous.mkv"
    a_file(done, jpegs, 2.0, finish=True, tags={"camera": "front", "reason": "continuous"})
    index.add_recording("front", part_of(done), T0, None, 0, 0, "continuous")
    # e) not ours
    junk = root / "back/2025-06-15/junk.mkv"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"not matroska")

    report = recover(index, root)
    assert report.repaired == [day / "140000-motion.mkv"] and report.deleted == [empty]
    assert report.indexed == [done] and report.unreadable == [junk] and report.dropped_rows == 2
    rows = {r.path: r for r in index.list_recordings()}
    assert set(rows) == {day / "140000-motion.mkv", done}
    fixed = rows[day / "140000-motion.mkv"]
    s = scan_file(fixed.path)
    assert (
        s.complete and not fixed.complete and fixed.frames == s.video_frames == 50
    )  # 2 whole clusters survived
    assert fixed.reason == "motion" and fixed.incident == "inc-7" and fixed.start == T0
    assert fixed.end is not None and abs((fixed.end - T0).total_seconds() - s.duration_ms / 1000) < 0.001
    assert int(ffprobe(fixed.path)["streams"][0]["nb_read_packets"]) == fixed.frames
    assert rows[done].complete and rows[done].frames == 50 and rows[done].reason == "continuous"
    assert not list(root.rglob("*.part"))
    # idempotent
    again = recover(index, root)
    assert (again.repaired, again.deleted, again.indexed, again.dropped_rows) == ([], [], [], 0)


def row(i: int, start: datetime, size: int, *, end: bool = True, path: str | None = None) -> RecordingRow:
    return RecordingRow(
        i,
        "c",
        Path(path or f"/r/{i}.mkv"),
        start,
        start + timedelta(minutes=1) if end else None,
        1,
        size,
        "motion",
        None,
        end,
    )


def test_plan_rules() -> None:
    now = (T0 + timedelta(days=10)).timestamp()
    rows = [row(i, T0 + timedelta(days=i), 100) for i in range(10)]
    fs = FsState(total=10_000, free=5_000)
    # max_age: older than 5 days (by end)
    old = plan(rows, now=now, fs=fs, cfg=StorageConfig(max_age="5d", min_free=0))
    assert [r.id for r in old] == [0, 1, 2, 3, 4]
    # max_usage as a size: 1000 used, 650 allowed -> the 4 oldest go
    assert [
        r.id for r in plan(rows, now=now, fs=fs, cfg=StorageConfig(max_usage=Usage(size=650), min_free=0))
    ] == [
        0,
        1,
        2,
        3,
    ]
    # as a share of the filesystem: 5 % of 10000 = 500
    share = StorageConfig(max_usage=Usage(share=0.05), min_free=0)
    assert len(plan(rows, now=now, fs=fs, cfg=share)) == 5
    # min_free: 5000 free, 5250 wanted -> 3 files
    assert len(plan(rows, now=now, fs=fs, cfg=StorageConfig(min_free=5250))) == 3
    # a full disk: free at least `need`
    assert len(plan(rows, now=now, fs=fs, cfg=StorageConfig(min_free=0), need=150)) == 2
    # never an open file, never a protected one; oldest by start even if listed out of order
    mixed = [
        row(1, T0, 100, end=False),
        row(2, T0 + timedelta(hours=1), 100, path="/r/active.mkv"),
        *rows[::-1],
    ]
    got = plan(
        mixed, now=now, fs=fs, cfg=StorageConfig(min_free=0), protected={Path("/r/active.mkv")}, need=1
    )
    assert [r.id for r in got] == [0]


async def test_storage_deletes_oldest_files(tmp_path: Path, jpegs: list[bytes]) -> None:
    index = Index.open(tmp_path)
    root = recordings_root(tmp_path)
    paths = []
    for i in range(4):
        p = root / f"c/2025-06-1{i}/120000-motion.mkv"
        a_file(p, jpegs, 1.0, finish=True, tags={"reason": "motion"})
        index.add_recording(
            "c",
            p,
            T0 + timedelta(days=i),
            T0 + timedelta(days=i, minutes=1),
            25,
            p.stat().st_size,
            "motion",
            complete=True,
        )
        paths.append(p)
    size = paths[0].stat().st_size
    second = paths[1].stat().st_size
    dbs = state_files_bytes(tmp_path)  # the index counts as used too
    storage = Storage(index, StorageConfig(max_usage=Usage(size=int(size * 3.5) + dbs), min_free=0), root)
    storage.active[paths[0]] = size  # pretend the oldest is being written: it stays
    freed = await storage.prune()
    assert freed == second
    assert [p.exists() for p in paths] == [True, False, True, True]
    assert [r.path for r in index.list_recordings()] == [paths[0], paths[2], paths[3]]
    assert not (root / "c/2025-06-11").exists()  # an emptied old day directory goes too


async def test_storage_survives_an_index_it_cannot_write(tmp_path: Path, jpegs: list[bytes]) -> None:
    """Found by CI's full-disk run: SQLite needs room even to delete a row, so on a full disk the
    index can refuse the deletion of a file already gone. The prune goes on (the space is freed),
    logs it, and a later round drops the row, as start-up recovery would."""
    index = Index.open(tmp_path)
    root = recordings_root(tmp_path)
    paths = []
    for i in range(3):
        p = root / f"c/2025-06-1{i}/120000-motion.mkv"
        a_file(p, jpegs, 1.0, finish=True, tags={"reason": "motion"})
        start = T0 + timedelta(days=i)
        index.add_recording(
            "c", p, start, start + timedelta(minutes=1), 25, p.stat().st_size, "motion", complete=True
        )
        paths.append(p)
    size = paths[0].stat().st_size
    dbs = state_files_bytes(tmp_path)  # the index counts as used too
    storage = Storage(index, StorageConfig(max_usage=Usage(size=int(size * 2.5) + dbs), min_free=0), root)
    index._conn.execute("PRAGMA query_only = ON")  # every write now fails, as on a full disk
    freed = await storage.prune()
    assert freed == size and not paths[0].exists()  # the space is freed all the same
    assert len(index.list_recordings()) == 3  # the row could not go
    deleted = storage.deleted
    assert await storage.prune() == 0 and storage.deleted == deleted  # nor counted as used again
    assert all(p.exists() for p in paths[1:])
    index._conn.execute("PRAGMA query_only = OFF")
    assert await storage.prune() == 0
    assert [r.path for r in index.list_recordings()] == paths[1:]
