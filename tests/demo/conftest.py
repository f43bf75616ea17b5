"""Fixtures for the demo's tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    return tmp_path / "demo"
