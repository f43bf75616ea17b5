"""The SQLite index (WAL) shared by the camera engine (incidents) and the recorder (recordings).

All methods are synchronous and thread-safe (one connection behind a lock); from trio call them in
a worker thread: `await trio.to_thread.run_sync(index.start_incident, cam, "motion", start, True)`.
Each call is one short transaction. Several Index objects (or processes: the CLI) may open the
same file; WAL lets readers run beside the one writer, and busy_timeout waits out a held lock.

Times are given as timezone-aware datetimes and stored twice: as the ISO 8601 text with its offset
as given (so it prints back exactly), and as epoch seconds (REAL) for ordering and range queries.
Recording paths are stored relative to the state directory and returned absolute.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recorderd.core.errors import RecorderdError

INDEX_NAME = "index.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    triggers TEXT NOT NULL,          -- comma-separated, in the order they joined the incident
    start TEXT NOT NULL,             -- ISO 8601 with offset
    start_ts REAL NOT NULL,          -- epoch seconds
    "end" TEXT,                      -- NULL while the incident is open
    end_ts REAL,
    armed INTEGER NOT NULL,
    data TEXT,                       -- free JSON text for the engine (levels, windows, ...)
    seq INTEGER NOT NULL             -- bumped on every change: `events --follow` polls seq > last
);
CREATE INDEX IF NOT EXISTS incidents_camera_start ON incidents (camera, start_ts);
CREATE INDEX IF NOT EXISTS incidents_seq ON incidents (seq);
CREATE TABLE IF NOT EXISTS recordings (
    id INTEGER PRIMARY KEY,
    camera TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,       -- relative to the state directory
    start TEXT NOT NULL,
    start_ts REAL NOT NULL,
    "end" TEXT,                      -- NULL while being written
    end_ts REAL,
    frames INTEGER NOT NULL,         -- video frames
    bytes INTEGER NOT NULL,          -- file size
    reason TEXT NOT NULL,            -- "continuous" or the trigger that opened the clip
    incident TEXT,                   -- the first incident of an event clip
    complete INTEGER NOT NULL        -- 1: closed cleanly (Duration, Cues, Tags); 0: open or repaired
);
CREATE INDEX IF NOT EXISTS recordings_camera_start ON recordings (camera, start_ts);
CREATE INDEX IF NOT EXISTS recordings_start ON recordings (start_ts);
"""


def _overlapping(
    camera: str | None, since: datetime | None, until: datetime | None
) -> tuple[list[str], list[Any]]:
    """WHERE terms for rows of `camera` overlapping [since, until]; an open row reaches now."""
    where, args = ["1"], list[Any]()
    if camera is not None:
        where.append("camera = ?")
        args.append(camera)
    if since is not None:
        where.append('("end" IS NULL OR end_ts >= ?)')
        args.append(_ts(since))
    if until is not None:
        where.append("start_ts <= ?")
        args.append(_ts(until))
    return where, args


class IncidentIds:
    """Incident ids unique by construction: `<camera>-<UTC yyyymmddThhmmss>-<6 hex>`, where the
    time and the hex digits (the microseconds) are one stamp that only goes up in this process.

    A stamp is the incident's start in microseconds, or one more than the last stamp given out when
    that is not later (two incidents in one microsecond, a clock set back). Seeded from the index
    (`Index.last_incident_stamp`), so no id in it is ever given again: nothing random can collide
    (random 24-bit tails did, and receivers then dropped a real alarm as a duplicate).
    """

    def __init__(self, floor: int = 0) -> None:
        self._last = floor

    def seed(self, floor: int) -> None:
        """Never give a stamp at or below `floor` (the index's highest)."""
        self._last = max(self._last, floor)

    def new(self, camera: str, start: datetime) -> str:
        stamp = max(round(start.timestamp() * 1_000_000), self._last + 1)
        self._last = stamp
        second, micros = divmod(stamp, 1_000_000)
        return f"{camera}-{datetime.fromtimestamp(second, UTC):%Y%m%dT%H%M%S}-{micros:06x}"


def incident_stamp(incident_id: str) -> int | None:
    """The stamp of an id made by IncidentIds (or of the older random form), None for other ids."""
    parts = incident_id.rsplit("-", 2)
    if len(parts) != 3 or len(parts[2]) != 6:
        return None
    try:
        second = datetime.strptime(parts[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return int(second.timestamp()) * 1_000_000 + int(parts[2], 16)
    except ValueError:
        return None


INCIDENT_IDS = IncidentIds()  # the process's ids (the engine seeds it from its index at start)


def new_incident_id(camera: str, start: datetime) -> str:
    """A new incident id from the process's generator (see IncidentIds)."""
    return INCIDENT_IDS.new(camera, start)


class IndexUnavailable(RecorderdError):
    """The index cannot be opened or used (message says why)."""


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: str
    camera: str
    triggers: tuple[str, ...]
    start: datetime
    end: datetime | None
    armed: bool
    data: str | None
    seq: int

    @property
    def trigger(self) -> str:
        """The trigger that opened the incident."""
        return self.triggers[0]

    @property
    def open(self) -> bool:
        return self.end is None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera": self.camera,
            "trigger": self.trigger,
            "triggers": list(self.triggers),
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "armed": self.armed,
        }


@dataclass(frozen=True, slots=True)
class RecordingRow:
    id: int
    camera: str
    path: Path  # absolute
    start: datetime
    end: datetime | None
    frames: int
    bytes: int
    reason: str
    incident: str | None
    complete: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "path": str(self.path),
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "frames": self.frames,
            "bytes": self.bytes,
            "reason": self.reason,
            "incident": self.incident,
            "complete": self.complete,
        }


def _aware(t: datetime, what: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {t!r}")
    return t


def _iso(t: datetime | None, what: str) -> tuple[str | None, float | None]:
    if t is None:
        return None, None
    _aware(t, what)
    return t.isoformat(), t.timestamp()


def _ts(t: datetime | float | None) -> float | None:
    if t is None or isinstance(t, float | int):
        return t
    return _aware(t, "time").timestamp()


class Index:
    """The index file `<state_dir>/index.sqlite3`. Create with `Index.open(state_dir)`."""

    def __init__(self, conn: sqlite3.Connection, state_dir: Path) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self.state_dir = state_dir
        self.path = state_dir / INDEX_NAME

    @classmethod
    def open(cls, state_dir: Path) -> Index:
        state_dir = Path(state_dir).absolute()
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                state_dir / INDEX_NAME, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed row survives power loss too; rows are few (one per file or incident).
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise IndexUnavailable(
                    f"{state_dir / INDEX_NAME}: index schema {version} is newer than this recorderd ({SCHEMA_VERSION})"
                )
            if version < SCHEMA_VERSION:  # only then: a reader (the CLI) takes no write lock
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as e:
            raise IndexUnavailable(f"{state_dir / INDEX_NAME}: cannot open the index: {e}") from None
        except OSError as e:
            raise IndexUnavailable(
                f"{state_dir}: cannot create the state directory: {e.strerror or e}"
            ) from None
        return cls(conn, state_dir)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, args: tuple[Any, ...] | list[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # ---- incidents (written by the camera engine) ----

    @staticmethod
    def _next_seq(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM incidents").fetchone()[0])

    def start_incident(
        self,
        camera: str,
        trigger: str,
        start: datetime,
        armed: bool,
        *,
        data: str | None = None,
        incident_id: str | None = None,
    ) -> str:
        """Record an incident's start; returns its id (`incident_id`, or a new one).

        The engine passes its own id so that the alarm can leave before this row's fsync.
        """
        s, s_ts = _iso(start, "start")
        with self._tx() as c:
            # without the engine's id: one above every id this index holds (unique by construction)
            iid = incident_id or IncidentIds(self._last_stamp(c)).new(camera, start)
            c.execute(
                "INSERT INTO incidents (id, camera, triggers, start, start_ts, armed, data, seq)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (iid, camera, trigger, s, s_ts, int(armed), data, self._next_seq(c)),
            )
        return iid

    def add_incident_trigger(self, incident_id: str, trigger: str) -> None:
        """A further trigger merged into an open incident (kept once, in order of arrival)."""
        with self._tx() as c:
            row = c.execute("SELECT triggers FROM incidents WHERE id = ?", (incident_id,)).fetchone()
            if row is None:
                raise KeyError(incident_id)
            triggers = row[0].split(",")
            if trigger not in triggers:
                c.execute(
                    "UPDATE incidents SET triggers = ?, seq = ? WHERE id = ?",
                    (",".join([*triggers, trigger]), self._next_seq(c), incident_id),
                )

    def end_incident(self, incident_id: str, end: datetime, *, data: str | None = None) -> None:
        e, e_ts = _iso(end, "end")
        with self._tx() as c:
            cur = c.execute(
                'UPDATE incidents SET "end" = ?, end_ts = ?, data = COALESCE(?, data), seq = ? WHERE id = ?',
                (e, e_ts, data, self._next_seq(c), incident_id),
            )
            if cur.rowcount == 0:
                raise KeyError(incident_id)

    def close_open_incidents(self, end: datetime, camera: str | None = None) -> int:
        """At start-up: end incidents a crash left open (at `end`); returns how many."""
        e, e_ts = _iso(end, "end")
        where, args = 'WHERE "end" IS NULL', []
        if camera is not None:
            where, args = where + " AND camera = ?", [camera]
        with self._tx() as c:
            ids = [r[0] for r in c.execute(f"SELECT id FROM incidents {where} ORDER BY seq", args)]
            seq = self._next_seq(c)
            for i, iid in enumerate(ids):
                c.execute(
                    'UPDATE incidents SET "end" = ?, end_ts = MAX(?, start_ts), seq = ? WHERE id = ?',
                    (e, e_ts, seq + i, iid),
                )
        return len(ids)

    def last_incident_stamp(self) -> int:
        """The highest id stamp (IncidentIds) the index holds."""
        with self._lock:
            return self._last_stamp(self._conn)

    @staticmethod
    def _last_stamp(conn: sqlite3.Connection) -> int:
        # ids of the last minute of starts are read (a stamp runs ahead of its start only by the
        # ids given out in one burst), and no stamp is below its start's second
        rows = conn.execute(
            "SELECT id, start_ts FROM incidents WHERE start_ts >= (SELECT MAX(start_ts) FROM incidents) - 60"
        ).fetchall()
        best = 0
        for iid, start_ts in rows:
            best = max(best, incident_stamp(iid) or 0, (int(start_ts) + 1) * 1_000_000 - 1)
        return best

    def get_incident(self, incident_id: str) -> IncidentRow | None:
        rows = self._query(f"SELECT {_INC_COLS} FROM incidents WHERE id = ?", (incident_id,))
        return _incident(rows[0]) if rows else None

    def list_incidents(
        self,
        camera: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        after_seq: int | None = None,
        open_only: bool = False,
        limit: int | None = None,
    ) -> list[IncidentRow]:
        """Incidents overlapping [since, until], oldest first; `after_seq` gives those changed since."""
        where, args = _overlapping(camera, since, until)
        if open_only:
            where.append('"end" IS NULL')
        order = "start_ts, id"
        if after_seq is not None:
            where.append("seq > ?")
            args.append(after_seq)
            order = "seq"
        sql = f"SELECT {_INC_COLS} FROM incidents WHERE {' AND '.join(where)} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_incident(r) for r in self._query(sql, args)]

    def recent_incidents(
        self, camera: str | None = None, until: datetime | None = None, *, limit: int = 200
    ) -> list[IncidentRow]:
        """The newest incidents that started at or before `until`, newest first."""
        where, args = _overlapping(camera, None, until)
        sql = f"SELECT {_INC_COLS} FROM incidents WHERE {' AND '.join(where)} ORDER BY start_ts DESC, id DESC"
        return [_incident(r) for r in self._query(sql + f" LIMIT {int(limit)}", args)]

    # ---- recordings (written by the recorder) ----

    def _rel(self, path: Path) -> str:
        path = Path(path).absolute()
        try:
            return str(path.relative_to(self.state_dir))
        except ValueError:
            return str(path)

    def _abs(self, text: str) -> Path:
        return self.state_dir / text

    def add_recording(
        self,
        camera: str,
        path: Path,
        start: datetime,
        end: datetime | None,
        frames: int,
        bytes: int,
        reason: str,
        incident: str | None = None,
        complete: bool = False,
    ) -> int:
        """Insert (or replace, by path) a recording row; returns its id. Call after the file is fsynced."""
        s, s_ts = _iso(start, "start")
        e, e_ts = _iso(end, "end")
        with self._tx() as c:
            c.execute("DELETE FROM recordings WHERE path = ?", (self._rel(path),))
            cur = c.execute(
                'INSERT INTO recordings (camera, path, start, start_ts, "end", end_ts, frames, bytes,'
                " reason, incident, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (camera, self._rel(path), s, s_ts, e, e_ts, frames, bytes, reason, incident, int(complete)),
            )
            return int(cur.lastrowid or 0)

    def finish_recording(
        self,
        recording_id: int,
        *,
        path: Path,
        end: datetime,
        frames: int,
        bytes: int,
        complete: bool,
        start: datetime | None = None,
    ) -> None:
        """A recording closed (renamed to `path`): its end, counts and completeness."""
        e, e_ts = _iso(end, "end")
        s, s_ts = _iso(start, "start")
        with self._tx() as c:
            cur = c.execute(
                'UPDATE recordings SET path = ?, "end" = ?, end_ts = ?, frames = ?, bytes = ?, complete = ?,'
                " start = COALESCE(?, start), start_ts = COALESCE(?, start_ts) WHERE id = ?",
                (self._rel(path), e, e_ts, frames, bytes, int(complete), s, s_ts, recording_id),
            )
            if cur.rowcount == 0:
                raise KeyError(recording_id)

    def finished_bytes(self) -> int:
        """Bytes of the finished recordings (rows with an end)."""
        rows = self._query('SELECT COALESCE(SUM(bytes), 0) FROM recordings WHERE "end" IS NOT NULL', ())
        return int(rows[0][0])

    def remove_recording(self, path: Path) -> bool:
        with self._tx() as c:
            return c.execute("DELETE FROM recordings WHERE path = ?", (self._rel(path),)).rowcount > 0

    def recording_by_path(self, path: Path) -> RecordingRow | None:
        rows = self._query(f"SELECT {_REC_COLS} FROM recordings WHERE path = ?", (self._rel(path),))
        return self._recording(rows[0]) if rows else None

    def get_recording(self, recording_id: int) -> RecordingRow | None:
        rows = self._query(f"SELECT {_REC_COLS} FROM recordings WHERE id = ?", (recording_id,))
        return self._recording(rows[0]) if rows else None

    def list_recordings(
        self,
        camera: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        complete: bool | None = None,
        limit: int | None = None,
    ) -> list[RecordingRow]:
        """Recordings overlapping [since, until] (an open one counts as reaching now), oldest first."""
        where, args = _overlapping(camera, since, until)
        if complete is not None:
            where.append("complete = ?")
            args.append(int(complete))
        sql = f"SELECT {_REC_COLS} FROM recordings WHERE {' AND '.join(where)} ORDER BY start_ts, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._recording(r) for r in self._query(sql, args)]

    def _recording(self, r: tuple[Any, ...]) -> RecordingRow:
        return RecordingRow(
            id=r[0],
            camera=r[1],
            path=self._abs(r[2]),
            start=datetime.fromisoformat(r[3]),
            end=datetime.fromisoformat(r[4]) if r[4] else None,
            frames=r[5],
            bytes=r[6],
            reason=r[7],
            incident=r[8],
            complete=bool(r[9]),
        )


_INC_COLS = 'id, camera, triggers, start, "end", armed, data, seq'
_REC_COLS = 'id, camera, path, start, "end", frames, bytes, reason, incident, complete'


def _incident(r: tuple[Any, ...]) -> IncidentRow:
    return IncidentRow(
        id=r[0],
        camera=r[1],
        triggers=tuple(r[2].split(",")),
        start=datetime.fromisoformat(r[3]),
        end=datetime.fromisoformat(r[4]) if r[4] else None,
        armed=bool(r[5]),
        data=r[6],
        seq=r[7],
    )
