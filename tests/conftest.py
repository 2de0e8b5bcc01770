from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


def gate_tier(items: list[pytest.Item], tier: str, why_not: Callable[[], str | None]) -> None:
    """A tier that needs something from the machine (an engine, a browser): its tests are
    skipped with the reason, or, with HARNESS_REQUIRE_<TIER>=1 (CI), the run fails at once."""
    tier_items = [item for item in items if item.get_closest_marker(tier)]
    why = why_not() if tier_items else None
    if why is None:
        return
    if os.environ.get(f"HARNESS_REQUIRE_{tier.upper()}") == "1":
        raise pytest.UsageError(f"the {tier} tier cannot run: {why}")
    for item in tier_items:
        item.add_marker(pytest.mark.skip(reason=f"{tier} tier skipped: {why}"))
