"""Dialect drivers: which streams each camera dialect opens, and how their parts become samples.

Each module `recorderd.cameras.drivers.<dialect>` exposes `DRIVER`, its Driver class.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recorderd.cameras.drivers.base import Driver
    from recorderd.config.model import CameraConfig


def driver_for(cfg: CameraConfig) -> Driver:
    """The driver of a camera's dialect."""
    module = importlib.import_module(f"recorderd.cameras.drivers.{cfg.dialect}")
    cls: type[Driver] = module.DRIVER
    return cls(cfg)
