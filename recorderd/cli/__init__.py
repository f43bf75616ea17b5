"""The `recorderd` command line: one module per command, each exposing `register(subparsers)`.

The commands sit on top of every other package (docs/DESIGN.md, "Layers"): they load the config,
call into the stages and print. A new command is one module here and one line in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from recorderd import __version__

# in the order `recorderd --help` lists them
COMMANDS = (
    "check_config",
    "run",
    "events",
    "recordings",
    "schedule",
    "test",
    "demo",
    "simulate",
)


def command_modules() -> list[str]:
    return [f"recorderd.cli.{name}" for name in COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recorderd",
        description="Watch HTTP-CGI IP cameras, record and alarm on their events.",
    )
    parser.add_argument("--version", action="version", version=f"recorderd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        result: int = func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `recorderd events | head`: the reader went away, which is not an error of ours.
        return 0
    return result
