"""Fixtures for the camera engine's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from recorderd.cameras.http import new_client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(connect_timeout=2.0) as c:
        yield c
