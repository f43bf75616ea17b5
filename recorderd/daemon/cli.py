"""`recorderd run` (the daemon) and `recorderd events` (incidents from the index)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import trio

from recorderd.config.cli import load_or_report
from recorderd.config.load import ConfigError, add_config_argument, config_path, load_config
from recorderd.config.model import Config
from recorderd.recording.index import IncidentRow, Index, IndexUnavailable
from recorderd.service.logs import SECRETS, setup_logging
from recorderd.service.notify import Notifier
from recorderd.service.watchdog import Watchdog

log = logging.getLogger("recorderd.daemon")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run the daemon: watch the cameras, record, alarm",
        description=(
            "Run the daemon in the foreground. SIGHUP reloads the config (only what changed restarts; "
            "an invalid file is rejected and the running config kept); SIGINT/SIGTERM stop it "
            "(open files finished, exit 0). Speaks sd_notify when NOTIFY_SOCKET is set."
        ),
    )
    add_config_argument(p)
    p.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default=None,
        help="overrides [daemon].log_level (also across reloads)",
    )
    p.add_argument(
        "--log-format", choices=["text", "json"], default="text", help="text lines (default) or JSON lines"
    )
    p.set_defaults(func=run)

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


# -- run ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.config)
    if cfg is None:
        return 2
    setup_logging(args.log_level or cfg.daemon.log_level, args.log_format)
    register_secrets(cfg)
    try:
        return trio.run(serve, cfg, config_path(args.config), args.log_level)
    except IndexUnavailable as e:
        log.error("%s", e)
        return 1


def register_secrets(cfg: Config) -> None:
    """Every secret of the config is masked in the logs (a last line of defence)."""
    found: list[str | None] = []
    holders: list[Any] = [*cfg.cameras.values(), *cfg.targets.values()]
    if cfg.mqtt is not None:
        holders.append(cfg.mqtt)
    for h in holders:
        with contextlib.suppress(OSError):  # an unreadable password file is reported where it is used
            found.append(h.secret())
    d = cfg.daemon
    if d.http_token is not None:
        found.append(d.http_token.get_secret_value())
    if d.http_token_file is not None:
        with contextlib.suppress(OSError):
            found.append(d.http_token_file.read_text(encoding="utf-8").strip())
    SECRETS.add(found)


async def serve(cfg: Config, path: Path, log_level: str | None = None) -> int:
    """`recorderd run` in trio: the daemon, sd_notify, the watchdog, signals."""
    from recorderd.daemon.app import Daemon

    notifier = Notifier()
    daemon = Daemon(cfg)
    daemon.wire()
    dog = Watchdog(notifier)
    dog.add(daemon.recorder_watch.heart)
    block = _debug_block()
    wanted = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP] + ([signal.SIGUSR2] if block else [])
    with trio.open_signal_receiver(*wanted) as signals:
        async with trio.open_nursery() as outer:
            async with trio.open_nursery() as inner:
                await inner.start(daemon.run)
                line = daemon.status_line()
                notifier.ready(line)
                log.info("running with %s: %s", path, line)
                await outer.start(dog.run)
                outer.start_soon(_report_status, daemon, notifier)
                async for signum in signals:
                    if signum == signal.SIGHUP:
                        await _reload(daemon, path, notifier, log_level)
                    elif signum == signal.SIGUSR2 and block:
                        log.warning("debug: blocking the event loop for %gs", block)
                        time.sleep(block)  # deliberately blocks trio: the watchdog must notice
                    else:
                        log.info("%s: stopping", signal.Signals(signum).name)
                        notifier.stopping()
                        notifier.status("stopping")
                        daemon.stop()
                        outer.start_soon(_stop_bound, daemon, signals, inner.cancel_scope)
                        break
            outer.cancel_scope.cancel()
    notifier.close()
    log.info("stopped")
    return 0


async def _stop_bound(daemon: Any, signals: Any, scope: trio.CancelScope) -> None:
    """A second SIGINT/SIGTERM, or the stop taking too long, cuts the stop short."""
    with trio.move_on_after(daemon.stop_timeout + 5.0):
        async for signum in signals:
            if signum in (signal.SIGINT, signal.SIGTERM):
                log.warning("%s again: stopping at once", signal.Signals(signum).name)
                break
        else:
            await trio.sleep_forever()
    scope.cancel()


async def _reload(daemon: Any, path: Path, notifier: Notifier, log_level: str | None) -> None:
    notifier.reloading()
    log.info("SIGHUP: reloading %s", path)
    try:
        new = await trio.to_thread.run_sync(load_config, path)
    except ConfigError as e:
        for msg in e.messages:
            log.error("reload: %s", msg)
        n = len(e.messages)
        log.error("reload rejected (%d error%s); the running configuration is kept", n, "" if n == 1 else "s")
        notifier.send(
            READY=1, STATUS=f"reload rejected ({n} error{'' if n == 1 else 's'}); {daemon.status_line()}"
        )
        return
    register_secrets(new)
    d = await daemon.reload(new)
    if log_level is None and d.log_level_changed:
        logging.getLogger().setLevel(new.daemon.log_level.upper())
    notifier.send(READY=1, STATUS=f"reloaded: {d.summary()}")


async def _report_status(daemon: Any, notifier: Notifier, every: float = 2.0) -> None:
    """STATUS= when the one-line status changes ('5 cameras, 5 connected, 2 incidents open')."""
    last = ""
    while True:
        await trio.sleep(every)
        line = daemon.status_line()
        if line != last:
            notifier.status(line)
            last = line


def _debug_block() -> float:
    """RECORDERD_DEBUG_BLOCK_LOOP=<seconds>: SIGUSR2 then blocks the event loop that long (tests)."""
    raw = os.environ.get("RECORDERD_DEBUG_BLOCK_LOOP", "")
    try:
        return max(0.0, float(raw)) if raw else 0.0
    except ValueError:
        return 0.0


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
    return {
        "id": r.id,
        "camera": r.camera,
        "trigger": r.trigger,
        "triggers": list(r.triggers),
        "start": r.start.isoformat(),
        "end": r.end.isoformat() if r.end else None,
        "armed": r.armed,
    }


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
