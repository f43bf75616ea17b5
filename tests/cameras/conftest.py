"""Fixtures for the camera engine's tests."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from recorderd.cameras.http import new_client

# helpers are imported as tests.cameras.<module>: the repository root must be importable
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(connect_timeout=2.0) as c:
        yield c
