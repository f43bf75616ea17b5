"""`recorderd schedule show|query`: a camera's schedule from the config, answered offline.

`query` compiles the schedule once and then answers each time with a few bisections, so thousands of
times can be piped through one process. Input is read in chunks as it arrives and each chunk's
answers are flushed together: fast for a file, prompt for a program talking to it line by line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import datetime, tzinfo
from itertools import islice
from typing import Any

from recorderd.config.load import ConfigError, add_config_argument, config_path, load_config
from recorderd.schedule.engine import CameraScheduleError, Schedule, ScheduleError, compile_schedule
from recorderd.schedule.zonetime import from_us, to_us

_CHUNK = 1 << 16


class _Usage(Exception):
    """An expected failure: the message is printed and the command exits 2."""


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "schedule",
        help="show a camera's schedule or ask when it is armed",
        description="A camera's schedule from the config, answered offline.",
    )
    cmds = p.add_subparsers(dest="schedule_command", metavar="{show,query}", required=True)

    show = cmds.add_parser(
        "show",
        help="the week grid and the next five changes",
        description="Print the camera's week (7 rows of 96 quarter hours) and its next five changes.",
    )
    _common(show)
    show.add_argument(
        "--from", dest="start", metavar="ISO8601", help="list the changes after this time (default: now)"
    )
    show.set_defaults(func=run_show)

    query = cmds.add_parser(
        "query",
        help="armed and next change, one JSON line per time",
        description=(
            'For each time print {"at": ..., "armed": ..., "next_change": ... or null}. Times come '
            "from --at, else from stdin, one ISO 8601 time a line; a time without an offset is local "
            "to the camera's timezone."
        ),
    )
    _common(query)
    query.add_argument("--at", action="append", default=[], metavar="ISO8601", help="a time to ask about")
    query.set_defaults(func=run_query)


def _common(p: argparse.ArgumentParser) -> None:
    add_config_argument(p)
    p.add_argument("camera", help="the camera's name in [cameras]")
    p.add_argument(
        "--privacy", action="store_true", help="use the camera's privacy schedule instead of its schedule"
    )


def _load(args: argparse.Namespace) -> tuple[str, Schedule]:
    """(what, schedule) for the camera named on the command line, or _Usage."""
    path = config_path(args.config)
    try:
        cfg = load_config(path)
    except ConfigError as e:
        raise _Usage("\n".join(e.messages)) from None
    cam = cfg.cameras.get(args.camera)
    if cam is None:
        known = ", ".join(sorted(cfg.cameras)) or "none"
        raise _Usage(f'{path}: unknown camera "{args.camera}" (cameras: {known})')
    key = "privacy" if args.privacy else "schedule"
    zone = cam.zone(cfg.daemon.timezone)
    try:
        schedule = compile_schedule(getattr(cam, key), zone)
    except CameraScheduleError:
        raise _Usage(
            f'camera "{args.camera}": {key} is "camera": it is kept by the camera and read when the '
            "daemon connects, so it cannot be answered offline"
        ) from None
    except ScheduleError as e:
        raise _Usage(f'camera "{args.camera}": {key}: {e}') from None
    return f'camera "{args.camera}" {key} ({_zone_name(zone)})', schedule


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", zone))


def parse_time(text: str, zone: tzinfo) -> datetime:
    """An ISO 8601 time; one without an offset is wall time in `zone`.

    A wall time that occurs twice (fall back) means the first; one that never occurs (spring forward)
    is read with the offset from before the jump (PEP 495, fold=0), e.g. Berlin 02:30 -> 03:30+02:00.
    """
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f'expected an ISO 8601 time like 2026-03-29T02:30:00+01:00, got "{text[:80]}"'
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    return at


def answer(schedule: Schedule, at: datetime) -> str:
    """One JSON line (without newline) for `at`."""
    us = to_us(at)
    change = schedule.next_change_us(us)
    shown = from_us(us, schedule.zone).isoformat()
    armed = "true" if schedule.armed_us(us) else "false"
    nxt = "null" if change is None else f'"{from_us(change, schedule.zone).isoformat()}"'
    return f'{{"at": "{shown}", "armed": {armed}, "next_change": {nxt}}}'


def run_show(args: argparse.Namespace) -> int:
    try:
        what, schedule = _load(args)
        start = datetime.now(schedule.zone) if args.start is None else parse_time(args.start, schedule.zone)
        # all answers before the first line printed: near the year 9999 they may not exist
        armed = schedule.armed(start)
        shown = start.astimezone(schedule.zone).isoformat()
        changes = list(islice(schedule.changes(start), 5))
    except (_Usage, ValueError, OverflowError) as e:
        print(f"recorderd schedule show: {_why(e)}", file=sys.stderr)
        return 2
    print(f"{what}: {'on' if armed else 'off'} at {shown}")
    print(schedule.render_week())
    print("(# on for the whole quarter hour, + on for part of it, . off)")
    if not changes:
        print(f"never changes: always {'on' if armed else 'off'}")
    else:
        print("next changes:")
        for when, state in changes:
            print(f"  {when.isoformat()}  {'on' if state else 'off'}")
    return 0


def run_query(args: argparse.Namespace) -> int:
    try:
        _, schedule = _load(args)
    except _Usage as e:
        print(f"recorderd schedule query: {e}", file=sys.stderr)
        return 2
    if args.at:
        out: list[str] = []
        for n, text in enumerate(args.at, 1):
            try:
                out.append(answer(schedule, parse_time(text, schedule.zone)))
            except (ValueError, OverflowError) as e:
                print(f"recorderd schedule query: --at #{n}: {_why(e)}", file=sys.stderr)
                return 2
        print("\n".join(out))
        return 0
    return _query_stream(schedule)


def _why(e: Exception) -> str:
    return (
        "cannot answer: the time or its next changes lie outside the years 1-9999"
        if isinstance(e, OverflowError)
        else str(e)
    )


def _query_stream(schedule: Schedule) -> int:
    out = sys.stdout
    for batch in _stdin_batches():
        for lineno, raw in batch:
            text = raw.strip()
            if not text:
                continue
            try:
                out.write(answer(schedule, parse_time(text, schedule.zone)) + "\n")
            except (ValueError, OverflowError) as e:
                out.flush()
                print(f"recorderd schedule query: stdin line {lineno}: {_why(e)}", file=sys.stderr)
                return 2
        out.flush()
    return 0


def _stdin_batches() -> Iterator[list[tuple[int, str]]]:
    """Numbered stdin lines, one batch per read: whatever had arrived, cut at the last newline."""
    read1 = getattr(getattr(sys.stdin, "buffer", None), "read1", None)
    if read1 is None:  # a text stream without bytes underneath (embedding)
        yield list(enumerate(sys.stdin, 1))
        return
    n = 0
    rest = b""
    while chunk := read1(_CHUNK):
        *lines, rest = (rest + chunk).split(b"\n")
        batch = [(n + i, _decode(line)) for i, line in enumerate(lines, 1)]
        n += len(lines)
        yield batch
    if rest:
        yield [(n + 1, _decode(rest))]


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return "(not UTF-8 text)"  # not a time: reported as such, with its line number


def main(argv: list[str] | None = None) -> int:
    """`python -m recorderd.cli.schedule show|query ...`: the same commands without the others."""
    parser = argparse.ArgumentParser(prog="recorderd")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["schedule", *(sys.argv[1:] if argv is None else argv)])
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
