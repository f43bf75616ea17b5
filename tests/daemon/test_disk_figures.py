"""The recordings' bytes in /metrics and the status: right from the first look, and without a dip when
a file finishes between two refreshes of the index's sum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorderd.daemon.status import DiskFigures
from recorderd.recording.index import Index

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_counts_files_being_written_at_each_look(tmp_path: Path) -> None:
    active: dict[Path, int] = {}
    disk = DiskFigures()
    with Index.open(tmp_path) as ix:
        old = ix.add_recording(
            "cam", tmp_path / "old.mkv", T0, T0 + timedelta(seconds=10), 100, 1000, "motion"
        )
        assert old > 0
        await disk.refresh(tmp_path, ix, lambda: active)
        assert disk.recordings == 1000 and disk.total > 0

        # a file opens and grows after the refresh: counted at once, not at the next refresh
        part = tmp_path / "new.mkv.part"
        rid = ix.add_recording("cam", part, T0 + timedelta(minutes=1), None, 0, 0, "motion")
        active[part] = 500
        assert disk.recordings == 1500
        active[part] = 800
        assert disk.recordings == 1800

        # it finishes (row first, then it leaves `active`) before the next refresh: no dip
        ix.finish_recording(
            rid, path=tmp_path / "new.mkv", end=T0 + timedelta(minutes=2), frames=9, bytes=900, complete=True
        )
        del active[part]
        assert disk.recordings == 1800

        await disk.refresh(tmp_path, ix, lambda: active)
        assert disk.recordings == 1900 == ix.finished_bytes()
