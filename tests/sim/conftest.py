"""Fixtures for the simulator's tests (the readers they share are in sim_readers.py)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from recorderd.sim import SimConfig, Simulator, open_simulator

# sim_readers.py is imported by name; importlib mode does not put this folder on sys.path
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """One camera of every dialect, named after its dialect, on ports the OS picked."""
    async with open_simulator(SimConfig.every_dialect(event_interval=0.5)) as s:
        yield s


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c
