"""Fixtures for the end-to-end proofs (simulator + the real daemon + ffprobe)."""

from __future__ import annotations

import sys
from pathlib import Path

# helpers are imported as tests.e2e.<module>: the repository root must be importable
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
