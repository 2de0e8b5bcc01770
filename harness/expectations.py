"""Apply declared known incompatibilities to judged cells.

The cell's real `status` never changes; `shown_as` becomes `expected` where a live
expectation covers a failing cell. An expectation whose cells now pass, or whose expiry
is past, is stale and reported as such: expectations must not outlive their reason.
"""

from __future__ import annotations

import datetime
import fnmatch
from dataclasses import asdict
from typing import Any

from harness.config import Expectation
from harness.status import FAILURES, Status

EXPECTED = "expected"
SELECTORS = ("producer", "model", "export", "consumer", "loader")


def matches(exp: Expectation, cell: dict[str, Any]) -> bool:
    return all(fnmatch.fnmatchcase(cell[key], getattr(exp, key)) for key in SELECTORS)


def _covers(exp: Expectation, status: Status) -> bool:
    return status in FAILURES and (not exp.statuses or status.value in exp.statuses)


def apply(
    cells: list[dict[str, Any]], expectations: tuple[Expectation, ...], today: datetime.date
) -> list[dict[str, Any]]:
    """Set `shown_as` (and `expectation` where one matches) on every cell; return the stale ones."""
    stale: dict[int, dict[str, Any]] = {}
    for cell in cells:
        cell["shown_as"] = cell["status"]
        status = Status(cell["status"])
        for index, exp in enumerate(expectations):
            if not matches(exp, cell) or not (_covers(exp, status) or status is Status.PASS):
                continue
            why = _staleness(exp, status, today)
            cell["expectation"] = {**_public(exp), "stale": why}
            if why:
                entry = stale.setdefault(index, {**_public(exp), "why_stale": why, "cells": []})
                entry["cells"].append(_slug(cell))
            elif _covers(exp, status):
                cell["shown_as"] = EXPECTED
            break
    return list(stale.values())


def _staleness(exp: Expectation, status: Status, today: datetime.date) -> str | None:
    if exp.expires and datetime.date.fromisoformat(exp.expires) < today:
        return f"expired on {exp.expires}"
    if status is Status.PASS:
        return "now passes"
    return None


def _public(exp: Expectation) -> dict[str, Any]:
    data = asdict(exp)
    return {k: data[k] for k in ("reason", "link", "expires")} | {"selector": _selector(exp)}


def _selector(exp: Expectation) -> str:
    return " ".join(f"{k}={getattr(exp, k)}" for k in SELECTORS if getattr(exp, k) != "*") or "every cell"


def _slug(cell: dict[str, Any]) -> str:
    return "__".join(cell[k] for k in SELECTORS)
