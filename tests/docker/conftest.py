"""Docker tier: real images on a real engine. Without an engine the tier is skipped with
the reason, unless HARNESS_REQUIRE_DOCKER=1 (CI), where that is a failure."""

from __future__ import annotations

import pytest

from harness.runtimes import base_images
from harness.runtimes.docker import engine_problem
from tests.conftest import gate_tier

# The base images the tier's runtimes build on (tests/data/matrix-docker.yaml).
NEEDED_BASES = (base_images.tag_for("bookworm"), base_images.tag_for("trixie"))


def _why_not() -> str | None:
    problem = engine_problem()
    if problem:
        return f"{problem} (start dockerd; CI's .ci/run does)"
    from harness.runtimes import docker_seam

    client = docker_seam.client()
    missing = [tag for tag in NEEDED_BASES if not client.images.list(name=tag)]
    if missing:
        return f"base image(s) {', '.join(missing)} are not on the engine: run `nox -s base-images` (or docker pull)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gate_tier(items, "docker", _why_not)
