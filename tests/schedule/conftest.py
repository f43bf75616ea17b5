"""Fixtures for the schedule tests: the real Foscam capture, the example config."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def foscam_params_text() -> str:
    """Body of a real Foscam get_params.cgi (tests/fixtures/real, else the shared original)."""
    for base in (ROOT / "tests" / "fixtures" / "real", ROOT.parent / "shared" / "fixtures" / "real"):
        path = base / "foscam-netwave-get_params.txt"
        if path.exists():
            return path.read_text(encoding="utf-8")
    pytest.fail("foscam-netwave-get_params.txt not found in tests/fixtures/real or ../shared")


@pytest.fixture
def example_config() -> Path:
    return ROOT / "config" / "recorderd.example.toml"
