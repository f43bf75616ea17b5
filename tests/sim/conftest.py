"""Fixtures for the simulator's tests (the readers they share are in tests.support.simreaders)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from recorderd.sim import SimConfig, Simulator, open_simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """One camera of every dialect, named after its dialect, on ports the OS picked."""
    async with open_simulator(SimConfig.every_dialect(event_interval=0.5)) as s:
        yield s


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c
