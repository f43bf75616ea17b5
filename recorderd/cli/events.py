"""`recorderd events`: incidents from the index, oldest first; `--follow` prints changes live."""

from __future__ import annotations

import argparse
import json
import sys
import time
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from recorderd.cli.check_config import load_or_report
from recorderd.cli.table import Table, span
from recorderd.config.load import add_config_argument
from recorderd.recording.index import IncidentRow, Index, IndexUnavailable, RecordingRow


def register(sub: Any) -> None:
    e: argparse.ArgumentParser = sub.add_parser(
        "events",
        help="list incidents from the index",
        description="List incidents (oldest first): one line each, or JSON lines with --json.",
    )
    add_config_argument(e)
    e.add_argument("--camera", metavar="C", help="only this camera")
    e.add_argument(
        "--since",
        metavar="T",
        help='ISO 8601 time (no offset: the daemon\'s timezone) or a duration back from now ("1h", "2d")',
    )
    e.add_argument("--follow", "-f", action="store_true", help="keep printing changes as they happen")
    e.add_argument("--json", action="store_true", help="JSON lines")
    e.set_defaults(func=events)


# -- events ------------------------------------------------------------------------------------


def parse_since(text: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """'2026-03-01T08:00' (daemon zone), '2026-03-01T08:00+01:00', or '1h' / '2d' back from now."""
    from pydantic_core import PydanticCustomError

    from recorderd.config.units import parse_duration

    now = now or datetime.now(UTC)
    try:
        return now - timedelta(seconds=parse_duration(text))
    except PydanticCustomError:
        pass
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f'--since: expected an ISO 8601 time or a duration like "1h", got "{text}"'
        ) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=zone)


class Clips:
    """Each camera's recordings, to find the files an incident is in (its pre- and post-trigger
    time included): those that overlap it in time, whether event clips or continuous segments."""

    def __init__(self, rows: list[RecordingRow]) -> None:
        self._rows: dict[str, list[RecordingRow]] = {}  # by camera, by start
        for r in rows:
            self._rows.setdefault(r.camera, []).append(r)
        self._starts = {cam: [r.start.timestamp() for r in rs] for cam, rs in self._rows.items()}

    def of(self, inc: IncidentRow) -> list[Path]:
        rows = self._rows.get(inc.camera, [])
        end = inc.end.timestamp() if inc.end else float("inf")
        out = []
        # a camera writes one file at a time: its recordings, by start, are by end too
        for r in reversed(rows[: bisect_right(self._starts.get(inc.camera, []), end)]):
            if r.end is not None and r.end < inc.start:
                break
            out.append(r.path)
        return out[::-1]


def row_json(r: IncidentRow, clips: list[Path]) -> dict[str, Any]:
    return {**r.as_json(), "clips": [str(p) for p in clips]}


def events_table(camera_names: list[str]) -> Table:
    # minimum widths: lines printed one by one (--follow) still line up with the header
    longest = max(map(len, camera_names), default=0)
    # an incident id is "<camera>-<yyyymmddThhmmss>-<6 hex>" (recording/index.py)
    widths = {"START": 19, "END": 8, "CAMERA": longest, "INCIDENT": longest + 23}
    return Table(
        ("START", "END", "LENGTH", "CAMERA", "TRIGGERS", "INCIDENT", "CLIP"), right=("LENGTH",), widths=widths
    )


def row_cells(r: IncidentRow, zone: ZoneInfo, clips: list[Path]) -> list[str]:
    start, end, length = span(r.start, r.end, zone, "(open)")
    clip = (str(clips[0]) + (f" (+{len(clips) - 1} more)" if len(clips) > 1 else "")) if clips else "-"
    return [start, end, length, r.camera, ",".join(r.triggers), r.id, clip]


def events(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.config)
    if cfg is None:
        return 2
    zone = ZoneInfo(cfg.daemon.timezone)
    since = None
    if args.since:
        try:
            since = parse_since(args.since, zone)
        except ValueError as e:
            print(f"recorderd events: {e}", file=sys.stderr)
            return 2
    if args.camera and args.camera not in cfg.cameras:
        print(
            f'recorderd events: unknown camera "{args.camera}" (known: {", ".join(cfg.cameras) or "none"})',
            file=sys.stderr,
        )
        return 2
    index_file = cfg.daemon.state_dir / "index.sqlite3"
    if not index_file.exists() and not args.follow:
        return 0  # nothing recorded yet: no incidents
    try:
        index = Index.open(cfg.daemon.state_dir)
    except IndexUnavailable as e:
        print(f"recorderd events: {e}", file=sys.stderr)
        return 1
    table = events_table(list(cfg.cameras))
    with index:
        rows = index.list_incidents(args.camera, since)
        clips = Clips(index.list_recordings(args.camera, since) if rows else [])
        if args.json:
            for r in rows:
                print(json.dumps(row_json(r, clips.of(r))), flush=True)
        else:
            for line in table.render([row_cells(r, zone, clips.of(r)) for r in rows]):
                print(line, flush=True)
        if not args.follow:
            return 0
        if not args.json and not rows:
            print(table.head(), flush=True)
        seq = max((r.seq for r in index.list_incidents(args.camera)), default=0)
        try:
            while True:
                time.sleep(0.25)
                for r in index.list_incidents(args.camera, after_seq=seq):
                    seq = max(seq, r.seq)
                    of = [x.path for x in index.list_recordings(r.camera, r.start, r.end)]
                    print(
                        json.dumps(row_json(r, of)) if args.json else table.line(row_cells(r, zone, of)),
                        flush=True,
                    )
        except KeyboardInterrupt:
            return 0
