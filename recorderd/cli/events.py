"""`recorderd events`: incidents from the index, oldest first; `--follow` prints changes live."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recorderd.cli.check_config import load_or_report
from recorderd.config.load import add_config_argument
from recorderd.recording.index import IncidentRow, Index, IndexUnavailable


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


def row_json(r: IncidentRow) -> dict[str, Any]:
    return r.as_json()


def row_line(r: IncidentRow, zone: ZoneInfo) -> str:
    start = r.start.astimezone(zone)
    if r.end is None:
        span = f"{start:%Y-%m-%d %H:%M:%S} ... (open)"
    else:
        secs = (r.end - r.start).total_seconds()
        span = f"{start:%Y-%m-%d %H:%M:%S} - {r.end.astimezone(zone):%H:%M:%S} ({secs:.1f}s)"
    return f"{span}  {r.camera}  {','.join(r.triggers)}  {r.id}"


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
    with index:
        rows = index.list_incidents(args.camera, since)
        for r in rows:
            _print(r, args.json, zone)
        if not args.follow:
            return 0
        seq = max((r.seq for r in index.list_incidents(args.camera)), default=0)
        try:
            while True:
                time.sleep(0.25)
                for r in index.list_incidents(args.camera, after_seq=seq):
                    seq = max(seq, r.seq)
                    _print(r, args.json, zone)
        except KeyboardInterrupt:
            return 0


def _print(r: IncidentRow, as_json: bool, zone: ZoneInfo) -> None:
    print(json.dumps(row_json(r)) if as_json else row_line(r, zone), flush=True)
