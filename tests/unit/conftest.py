"""Unit tier: no Paddle, no network, no Docker. An autouse guard makes the process seam
and the Docker seam raise, so a unit test that would start a real process or talk to a
real engine by accident fails loudly; tests that mean to start a (paddle-free) process
ask for ``allow_processes``, and Docker tests patch ``docker_seam.client`` with a fake."""

from __future__ import annotations

from typing import Any

import pytest

from harness.runtimes import docker_seam, seam


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"unit tests must not start processes: {args[:1]}")


def _refuse_docker(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("unit tests must not talk to a Docker engine: patch harness.runtimes.docker_seam.client")


@pytest.fixture(autouse=True)
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_seam, "client", _refuse_docker)


@pytest.fixture(autouse=True)
def no_processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "allow_processes" not in request.fixturenames:
        monkeypatch.setattr(seam, "run", _refuse)
        monkeypatch.setattr(seam, "popen", _refuse)


@pytest.fixture
def allow_processes() -> None:
    """Opt out of the guard (the test starts a paddle-free helper process)."""
