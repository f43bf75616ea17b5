"""The `recorderd` command line.

Every stage package that has commands holds a `cli.py` exposing `register(subparsers) -> None`, which
adds its parsers with `func=<callable(args) -> int>` as default. They are found by walking the
package, so a stage adds a command without touching this file.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Sequence

import recorderd
from recorderd import __version__


def command_modules() -> list[str]:
    """`recorderd.<stage>.cli` for every stage package that has one, in name order."""
    return sorted(
        f"recorderd.{m.name}.cli"
        for m in pkgutil.iter_modules(recorderd.__path__)
        if m.ispkg and importlib.util.find_spec(f"recorderd.{m.name}.cli") is not None
    )


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
