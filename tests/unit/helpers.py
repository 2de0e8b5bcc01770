"""Small helpers shared by the unit tests (the test doubles are in fakes.py)."""

from __future__ import annotations

import pytest

from harness.config.matrix import parse_matrix
from harness.errors import ConfigError


def problems_of(text: str) -> list[str]:
    """Every problem ``parse_matrix`` finds in ``text`` (which must not parse)."""
    with pytest.raises(ConfigError) as info:
        parse_matrix(text)
    return info.value.problems
