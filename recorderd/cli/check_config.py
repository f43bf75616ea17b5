"""`recorderd check-config`: validate a config file and say what it holds, or every error in it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from recorderd.config.advice import config_advice
from recorderd.config.load import ConfigError, add_config_argument, config_path, load_config
from recorderd.config.model import Config
from recorderd.core.text import plural


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "check-config",
        help="validate a config file",
        description=(
            "Validate a config file: exit 0 with a one-line summary (and a warning for each camera "
            "whose settings mean it will never record or alarm), or 2 with every error."
        ),
    )
    add_config_argument(p)
    p.set_defaults(func=run)


def summary(cfg: Config) -> str:
    cams = ", ".join(f"{n} ({c.dialect})" for n, c in cfg.cameras.items()) or "none"
    targets = ", ".join(f"{n} ({t.kind})" for n, t in cfg.targets.items()) or "none"
    mqtt = f"{cfg.mqtt.host}:{cfg.mqtt.port}" if cfg.mqtt else "off"
    return f"{plural(len(cfg.cameras), 'camera')}: {cams}; {plural(len(cfg.targets), 'target')}: {targets}; mqtt: {mqtt}"


def load_or_report(path_arg: Any) -> Config | None:
    """Load the config, or print every error to stderr and return None (callers exit 2)."""
    try:
        return load_config(config_path(path_arg))
    except ConfigError as e:
        for line in e.messages:
            print(line, file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    cfg = load_or_report(path)
    if cfg is None:
        return 2
    print(f"{path}: OK: {summary(cfg)}")
    for line in config_advice(cfg, str(path)):
        print(f"warning: {line}", file=sys.stderr)
    return 0
