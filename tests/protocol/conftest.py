"""Fixtures for the protocol tests: the real captures' folder."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REAL = HERE.parent / "fixtures" / "real"


@pytest.fixture
def real() -> Path:
    """Directory holding the real camera captures (see PROVENANCE.md there)."""
    return REAL
