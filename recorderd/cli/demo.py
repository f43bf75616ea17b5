"""`recorderd demo [--dir DIR] [--duration S]`: the whole daemon against simulated cameras, on loopback."""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import trio

from recorderd.core.errors import expected_failure
from recorderd.core.gcpolicy import settle_for_daemon

DEFAULT_DIR = Path("recorderd-demo")
DEFAULT_DURATION = 30.0
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run the daemon against simulated cameras of every dialect (no setup needed)",
        description=(
            "Start simulated cameras of every dialect on loopback ports, the daemon against them "
            "(scripted incidents, event and continuous recording, a private mosquitto if installed, "
            "the HTTP endpoint) and print what happens. State and recordings go under DIR."
        ),
    )
    p.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        metavar="DIR",
        help=f"state, recordings and the config used (default ./{DEFAULT_DIR})",
    )
    p.add_argument(
        "--duration",
        type=_duration,
        default=DEFAULT_DURATION,
        metavar="S",
        help=f"stop after S seconds (default {DEFAULT_DURATION:g}; 0: until Ctrl-C)",
    )
    p.add_argument(
        "--no-mqtt", action="store_true", help="leave out the private broker even if mosquitto is installed"
    )
    p.add_argument("--verbose", "-v", action="store_true", help="the daemon's info log on stderr")
    p.set_defaults(func=run)


def _duration(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 <= value < 1e7:
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text!r}")
    return value


def find_mosquitto(path: str | None = None, sbin: tuple[str, ...] = SBIN) -> str | None:
    """mosquitto on PATH, else in the sbin directories (Debian puts it in /usr/sbin, which is not on
    a normal user's PATH)."""
    found = shutil.which("mosquitto", path=path)
    if found is None and sbin:
        found = shutil.which("mosquitto", path=os.pathsep.join(sbin))
    return found


def prepare_dir(path: Path) -> str | None:
    """Create DIR and prove it writable; a message if not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".recorderd-demo-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        return f"recorderd demo: {path} is not a writable directory: {e.strerror or e}"
    return None


def _first(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first `kind` inside (possibly nested) exception groups."""
    if isinstance(exc, kind):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            found = _first(sub, kind)
            if found is not None:
                return found
    return None


def run(args: argparse.Namespace) -> int:
    from recorderd.demo.broker import BrokerError
    from recorderd.demo.runner import Options, run_demo
    from recorderd.service.logs import setup_logging

    # the account on stdout shows the seconds since the start; the warnings between need no time
    setup_logging("info" if args.verbose else "warning", timestamps=False)
    state = Path(os.path.abspath(args.dir))
    problem = prepare_dir(state)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    mosquitto = None if args.no_mqtt else find_mosquitto()
    skipped = "--no-mqtt" if args.no_mqtt else "mosquitto is not installed (sudo apt-get install mosquitto)"
    opts = Options(
        dir=state,
        duration=args.duration or None,
        mosquitto=mosquitto,
        mqtt_skipped=None if mosquitto else skipped,
        verbose=args.verbose,
    )
    settle_for_daemon()
    try:
        return trio.run(run_demo, opts)
    except BaseException as exc:  # expected failures become one clear line; anything else is a bug
        if _first(exc, BrokenPipeError) is not None:
            # `recorderd demo | head`: the reader went away; no second complaint at exit's flush
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        # recorderd's own errors (the state dir in use by another demo, an unusable index, ...)
        found = _first(exc, BrokerError) or expected_failure(exc)
        if found is not None:
            print(f"recorderd demo: {found}", file=sys.stderr)
            return 1
        os_err = _first(exc, OSError)
        if isinstance(os_err, OSError):
            print(f"recorderd demo: {_os_message(os_err)}", file=sys.stderr)
            return 1
        raise


def _os_message(e: OSError) -> str:
    if e.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES) and e.filename is None:
        return f"cannot bind a loopback port: {e.strerror or e}"
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{e.strerror or e}"
