"""The `recorderd` command line: one argparse subcommand per module listed in COMMANDS.

Each command module exposes `register(subparsers) -> None`, which adds its parser and sets
`func=<callable(args) -> int>` as the parser default. Only commands that really work are listed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from recorderd import __version__

COMMANDS: tuple[str, ...] = ("recorderd.config.cli",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recorderd",
        description="Watch HTTP-CGI IP cameras, record and alarm on their events.",
    )
    parser.add_argument("--version", action="version", version=f"recorderd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
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
