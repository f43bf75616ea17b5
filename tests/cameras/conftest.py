"""Fixtures for the camera engine's tests."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from recorderd.cameras.http import new_client

# camfake.py (and the other helpers here) are imported by name; importlib mode does not add this folder
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(connect_timeout=2.0) as c:
        yield c
