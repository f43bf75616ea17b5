"""`recorderd recordings list` and `recorderd recordings export`: the recordings index from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from recorderd.cli.check_config import load_or_report
from recorderd.cli.table import Table, span
from recorderd.config.load import add_config_argument
from recorderd.recording.export import ExportError, export
from recorderd.recording.index import INDEX_NAME, Index, IndexUnavailable, RecordingRow

TIME_HELP = 'ISO 8601 time (no offset: the daemon\'s timezone), or a duration back from now ("1h", "2d")'


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "recordings",
        help="list or export recordings",
        description="List the indexed recordings, or export a camera's time range into one file.",
    )
    rsub = p.add_subparsers(dest="recordings_command", metavar="COMMAND")

    def usage(_args: argparse.Namespace) -> int:
        p.print_help(sys.stderr)
        return 2

    p.set_defaults(func=usage)

    ls: argparse.ArgumentParser = rsub.add_parser(
        "list",
        help="list recordings (oldest first)",
        description="List recordings, oldest first: one line each, or JSON lines with --json "
        "(camera, path, start, end, frames, bytes, reason, incident, complete).",
    )
    add_config_argument(ls)
    ls.add_argument("--camera", metavar="C", help="only this camera")
    ls.add_argument("--since", metavar="T", help=f"only recordings ending after T: {TIME_HELP}")
    ls.add_argument("--json", action="store_true", help="JSON lines")
    ls.set_defaults(func=list_cmd)

    ex: argparse.ArgumentParser = rsub.add_parser(
        "export",
        help="export a camera's time range into one .mkv",
        description="Write one Matroska file with a camera's frames (video and audio, passed through) "
        "from the indexed recordings between two times; progress on stderr.",
    )
    add_config_argument(ex)
    ex.add_argument("--camera", metavar="C", required=True)
    ex.add_argument("--from", dest="from_", metavar="T", required=True, help=TIME_HELP)
    ex.add_argument("--to", metavar="T", required=True, help=f'{TIME_HELP}; or "now"')
    ex.add_argument("out", metavar="OUT.mkv", type=Path)
    ex.set_defaults(func=export_cmd)


def parse_time(text: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """'2026-03-01T08:00' (in `zone`), '2026-03-01T08:00+01:00', 'now', or '1h' / '2d' back from now."""
    from pydantic_core import PydanticCustomError

    from recorderd.config.units import parse_duration

    now = now or datetime.now(UTC)
    if text.strip().lower() == "now":
        return now
    try:
        return now - timedelta(seconds=parse_duration(text))
    except PydanticCustomError:
        pass
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f'expected an ISO 8601 time or a duration like "1h", got "{text}"') from None
    return t if t.tzinfo is not None else t.replace(tzinfo=zone)


def size_text(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def recordings_table() -> Table:
    return Table(
        ("START", "END", "LENGTH", "CAMERA", "REASON", "FRAMES", "SIZE", "STATE", "FILE"),
        right=("LENGTH", "FRAMES", "SIZE"),
    )


def row_cells(r: RecordingRow, zone: ZoneInfo) -> list[str]:
    start, end, length = span(r.start, r.end, zone, "...")
    # "cut short": repaired after a crash or a full disk, playable up to its last whole cluster
    state = "recording" if r.end is None else "complete" if r.complete else "cut short"
    return [start, end, length, r.camera, r.reason, str(r.frames), size_text(r.bytes), state, str(r.path)]


def _open(args: argparse.Namespace, cmd: str) -> tuple[Index | None, ZoneInfo, int]:
    """The index (None with an exit status when there is none or it is unusable) and the zone."""
    cfg = load_or_report(args.config)
    if cfg is None:
        return None, ZoneInfo("UTC"), 2
    zone = ZoneInfo(cfg.daemon.timezone)
    camera = getattr(args, "camera", None)
    if camera and camera not in cfg.cameras:
        known = ", ".join(cfg.cameras) or "none"
        print(f'recorderd recordings {cmd}: unknown camera "{camera}" (known: {known})', file=sys.stderr)
        return None, zone, 2
    if not (cfg.daemon.state_dir / INDEX_NAME).exists():
        print(
            f"recorderd recordings {cmd}: no recordings yet (no index in {cfg.daemon.state_dir})",
            file=sys.stderr,
        )
        return None, zone, 0 if cmd == "list" else 1
    try:
        return Index.open(cfg.daemon.state_dir), zone, 0
    except IndexUnavailable as e:
        print(f"recorderd recordings {cmd}: {e}", file=sys.stderr)
        return None, zone, 1


def list_cmd(args: argparse.Namespace) -> int:
    since = None
    index, zone, status = _open(args, "list")
    if index is None:
        return status
    with index:
        if args.since:
            try:
                since = parse_time(args.since, zone)
            except ValueError as e:
                print(f"recorderd recordings list: --since: {e}", file=sys.stderr)
                return 2
        rows = index.list_recordings(args.camera, since)
    if args.json:
        for r in rows:
            print(json.dumps(r.as_json()), flush=True)
        return 0
    for line in recordings_table().render([row_cells(r, zone) for r in rows]):
        print(line, flush=True)
    return 0


def export_cmd(args: argparse.Namespace) -> int:
    index, zone, status = _open(args, "export")
    if index is None:
        return status
    with index:
        try:
            start, end = parse_time(args.from_, zone), parse_time(args.to, zone)
        except ValueError as e:
            print(f"recorderd recordings export: {e}", file=sys.stderr)
            return 2
        if end <= start:
            print("recorderd recordings export: --to must be after --from", file=sys.stderr)
            return 2
        out: Path = args.out
        if not out.parent.is_dir():
            print(f"recorderd recordings export: {out.parent}: no such directory", file=sys.stderr)
            return 2

        def progress(msg: str) -> None:
            print(f"export: {msg}", file=sys.stderr, flush=True)

        try:
            export(index, args.camera, start, end, out.absolute(), progress=progress)
        except ExportError as e:
            print(f"recorderd recordings export: {e}", file=sys.stderr)
            return 1
        except OSError as e:
            print(f"recorderd recordings export: {out}: {e.strerror or e}", file=sys.stderr)
            return 1
    return 0
