"""Some tests call setup_logging (directly or through `recorderd run`), which replaces the root
logger's handlers: give them back after each test, so that no later test logs to a stream that was
closed (pytest then prints "Logging error")."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
