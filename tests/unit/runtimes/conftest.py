"""Fixtures of the runtime tests."""

from __future__ import annotations

import pytest

from harness.runtimes import docker_seam
from tests.unit.fakes import FakeEngine


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    """A fake Docker engine that ``docker_seam.client`` hands out (instead of refusing)."""
    fake = FakeEngine()
    monkeypatch.setattr(docker_seam, "client", lambda timeout=0: fake)
    return fake
