"""Unit tier: no Paddle, no network. An autouse guard makes the process seam raise, so
a unit test that would start a real process by accident fails loudly; tests that
mean to start a (paddle-free) process ask for ``allow_processes``."""

from __future__ import annotations

from typing import Any

import pytest

from harness import seam


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"unit tests must not start processes: {args[:1]}")


@pytest.fixture(autouse=True)
def no_processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "allow_processes" not in request.fixturenames:
        monkeypatch.setattr(seam, "run", _refuse)
        monkeypatch.setattr(seam, "popen", _refuse)


@pytest.fixture
def allow_processes() -> None:
    """Opt out of the guard (the test starts a paddle-free helper process)."""
