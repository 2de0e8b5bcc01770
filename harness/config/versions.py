"""Paddle version ordering, in one place: the report, `check` and the compatibility ranges
all sort runtimes oldest Paddle first."""

from __future__ import annotations

import re


def version_key(version: str) -> tuple[int, ...]:
    """(3, 3, 1) for "3.3.1", "3.3.1rc0" or "3.3.1.post118": release numbers only."""
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])
