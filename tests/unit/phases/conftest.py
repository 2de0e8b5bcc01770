"""Fixtures of the phase tests."""

from __future__ import annotations

import pytest

from harness.config.matrix import Matrix, parse_matrix


@pytest.fixture
def matrix(request: pytest.FixtureRequest) -> Matrix:
    """The test module's ``MATRIX`` text, parsed (a module may define its own ``matrix``)."""
    return parse_matrix(request.module.MATRIX)
