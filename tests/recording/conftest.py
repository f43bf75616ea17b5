"""Fixtures for the recorder tests (helpers shared with bench/ live in tests.support.synth/probe)."""

from __future__ import annotations

import pytest

from tests.support.synth import make_jpegs


@pytest.fixture(scope="session")
def jpegs() -> list[bytes]:
    """50 distinct small JPEGs."""
    return make_jpegs(50)
