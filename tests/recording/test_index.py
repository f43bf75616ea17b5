"""The SQLite index: incidents and recordings, times with offsets, WAL, a second connection."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import trio

from recorderd.recording.index import Index

CEST = timezone(timedelta(hours=2))


def test_incidents_round_trip(tmp_path: Path) -> None:
    ix = Index.open(tmp_path)
    t0 = datetime(2025, 6, 1, 12, 0, 0, 250000, tzinfo=CEST)
    iid = ix.start_incident("front", "motion", t0, True)
    assert iid.startswith("front-20250601T100000-")
    ix.add_incident_trigger(iid, "input:1")
    ix.add_incident_trigger(iid, "motion")
    (row,) = ix.list_incidents(open_only=True)
    assert row.triggers == ("motion", "input:1") and row.trigger == "motion" and row.open
    assert row.start == t0 and row.start.isoformat() == "2025-06-01T12:00:00.250000+02:00"
    ix.end_incident(iid, t0 + timedelta(seconds=7))
    row2 = ix.get_incident(iid)
    assert row2 is not None and row2.end == t0 + timedelta(seconds=7) and row2.seq > row.seq
    assert ix.list_incidents(open_only=True) == []
    assert ix.list_incidents(after_seq=row2.seq) == []
    assert [r.id for r in ix.list_incidents(after_seq=row.seq)] == [iid]
    # range filters: overlapping [since, until]
    assert ix.list_incidents(since=t0 + timedelta(seconds=8)) == []
    assert len(ix.list_incidents(since=t0 + timedelta(seconds=6), until=t0)) == 1
    assert ix.list_incidents(camera="back") == []
    with pytest.raises(KeyError):
        ix.end_incident("nope", t0)
    with pytest.raises(ValueError, match="timezone-aware"):
        ix.start_incident("front", "motion", datetime(2025, 1, 1), False)


def test_close_open_incidents(tmp_path: Path) -> None:
    ix = Index.open(tmp_path)
    t0 = datetime(2025, 6, 1, 10, tzinfo=UTC)
    a = ix.start_incident("a", "motion", t0, True)
    ix.start_incident("b", "input:1", t0, False)
    assert ix.close_open_incidents(t0 + timedelta(minutes=1), camera="a") == 1
    assert ix.get_incident(a) is not None and not ix.get_incident(a).open  # type: ignore[union-attr]
    assert ix.close_open_incidents(t0 + timedelta(minutes=1)) == 1
    assert ix.list_incidents(open_only=True) == []


def test_recordings_and_second_connection(tmp_path: Path) -> None:
    ix = Index.open(tmp_path)
    t0 = datetime(2025, 6, 1, 10, tzinfo=CEST)
    part = tmp_path / "recordings/front/2025-06-01/100000-motion.mkv.part"
    rid = ix.add_recording("front", part, t0, None, 0, 100, "motion", "inc-1")
    final = part.with_suffix("")
    ix.finish_recording(
        rid, path=final, end=t0 + timedelta(seconds=30), frames=300, bytes=5000, complete=True
    )
    other = Index.open(tmp_path)  # e.g. the CLI, while the daemon holds its own connection
    (row,) = other.list_recordings(camera="front")
    assert row.path == final and row.path.is_absolute() and row.complete and row.frames == 300
    assert row.as_json()["end"] == "2025-06-01T10:00:30+02:00"
    assert other.list_recordings(since=t0 + timedelta(minutes=1)) == []
    assert other.recording_by_path(final) == row
    assert ix.remove_recording(final) and other.list_recordings() == []
    mode = sqlite3.connect(tmp_path / "index.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


async def test_from_trio_worker_threads(tmp_path: Path) -> None:
    ix = Index.open(tmp_path)
    t0 = datetime(2025, 6, 1, 10, tzinfo=UTC)

    async def one(i: int) -> None:
        iid = await trio.to_thread.run_sync(ix.start_incident, f"c{i % 3}", "motion", t0, True)
        await trio.to_thread.run_sync(ix.end_incident, iid, t0 + timedelta(seconds=i))

    async with trio.open_nursery() as n:
        for i in range(30):
            n.start_soon(one, i)
    rows = ix.list_incidents()
    assert len(rows) == 30 and len({r.seq for r in rows}) == 30


def test_start_incident_with_the_engines_id(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from recorderd.recording.index import IncidentIds, Index

    start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    iid = IncidentIds().new("front", start)  # the process's generator may be past this start already
    assert iid.startswith("front-20261121T120000-")
    with Index.open(tmp_path) as index:
        assert index.start_incident("front", "motion", start, True, incident_id=iid) == iid
        row = index.get_incident(iid)
        assert row is not None and row.camera == "front" and row.armed


def test_incident_ids_are_unique_by_construction(tmp_path: Path) -> None:
    """A burst in one second (and one microsecond) never repeats an id, nor does a clock set
    back, nor a new run seeded from the index."""
    from recorderd.recording.index import IncidentIds, incident_stamp

    ids = IncidentIds()
    t = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    made = [ids.new("cam-a", t) for _ in range(5000)]
    made += [ids.new("cam-a", t - timedelta(hours=1)) for _ in range(10)]  # clock set back
    assert len(set(made)) == len(made)
    assert made[0] == "cam-a-20260102T030405-01e240"
    assert [incident_stamp(i) for i in made] == sorted(incident_stamp(i) or 0 for i in made)
    with Index.open(tmp_path) as index:
        for iid in made[-3:]:
            index.start_incident("cam-a", "motion", t, True, incident_id=iid)
        later = IncidentIds()
        later.seed(index.last_incident_stamp())
        fresh = later.new("cam-a", t)
        assert fresh not in made and (incident_stamp(fresh) or 0) > max(incident_stamp(i) or 0 for i in made)
