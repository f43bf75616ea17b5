"""Fixtures for the protocol tests: paths to the real captures."""

from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"


@pytest.fixture
def real() -> Path:
    """Directory holding the real camera captures (see PROVENANCE.md there)."""
    return REAL
