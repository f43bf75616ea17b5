"""Fixtures for the protocol tests: paths to the real captures, and the stream builders' folder."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REAL = HERE.parent / "fixtures" / "real"

# protocol_streams.py is imported by name; importlib mode does not add this folder
sys.path.insert(0, str(HERE))


@pytest.fixture
def real() -> Path:
    """Directory holding the real camera captures (see PROVENANCE.md there)."""
    return REAL
