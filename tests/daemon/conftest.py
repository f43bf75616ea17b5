"""Fixtures for the daemon's tests: the fake camera of tests/cameras is shared."""

from __future__ import annotations

import sys
from pathlib import Path

# helpers are imported as tests.cameras.<module>: the repository root must be importable
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
