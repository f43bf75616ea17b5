"""Dialect drivers: which streams each camera dialect opens, and how their parts become samples.

The dialect registry (recorderd.dialects.registry) names each dialect's driver module; the module
exposes `DRIVER`, its Driver class.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from recorderd.dialects.registry import DIALECTS

if TYPE_CHECKING:
    from recorderd.cameras.drivers.base import Driver
    from recorderd.config.model import CameraConfig


def driver_for(cfg: CameraConfig) -> Driver:
    """The driver of a camera's dialect."""
    module = importlib.import_module(DIALECTS[cfg.dialect].driver)
    cls: type[Driver] = module.DRIVER
    return cls(cfg)
