"""`recorderd simulate -c SIM.toml [--list]`: serve simulated cameras, or list them without serving."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

import trio

from recorderd.config.load import ConfigError
from recorderd.core.text import plural
from recorderd.sim.camera import describe_camera
from recorderd.sim.config import SimConfig, load_sim_config
from recorderd.sim.server import open_simulator


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="serve simulated cameras of every dialect on loopback",
        description=(
            "Serve the simulated cameras SIM.toml describes until Ctrl-C, printing one JSON line per "
            "camera (name, dialect, url, username, password, ...) once they listen. With --list, print "
            "those lines without serving (a URL is null where the port is picked at start)."
        ),
    )
    p.add_argument("-c", "--config", type=Path, required=True, metavar="SIM.toml", help="simulator config")
    p.add_argument("--list", action="store_true", help="print the cameras as JSON lines and exit")
    p.set_defaults(func=run)


def listing(cfg: SimConfig) -> list[dict[str, Any]]:
    """The cameras as the config places them (ports 0 are unknown until serving: URLs null)."""
    out = []
    for name, cam in cfg.cameras.items():
        stream = cfg.planned_stream_port(name) if cam.dialect == "move" else None
        out.append(describe_camera(name, cam, cfg.simulator.host, cfg.planned_port(name), stream))
    return out


async def _serve(cfg: SimConfig) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_simulator(cfg) as sim:
            for entry in sim.describe():
                print(json.dumps(entry), flush=True)
            control = f"; control API {sim.control_url}" if sim.control_url else ""
            print(
                f"recorderd simulate: {plural(len(sim.cameras), 'camera')} serving{control}; Ctrl-C stops",
                file=sys.stderr,
            )
            async for _ in signals:
                break


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_sim_config(args.config)
    except ConfigError as e:
        for line in e.messages:
            print(line, file=sys.stderr)
        return 2
    if args.list:
        for entry in listing(cfg):
            print(json.dumps(entry))
        return 0
    try:
        trio.run(_serve, cfg)
    except (OSError, BaseExceptionGroup) as e:
        err = _first_oserror(e)
        if err is None:
            raise
        print(f"recorderd simulate: cannot listen: {err.strerror or err}", file=sys.stderr)
        return 1
    return 0


def _first_oserror(e: BaseException) -> OSError | None:
    if isinstance(e, OSError):
        return e
    if isinstance(e, BaseExceptionGroup):
        for sub in e.exceptions:
            found = _first_oserror(sub)
            if found is not None:
                return found
    return None
