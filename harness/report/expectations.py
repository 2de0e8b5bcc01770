"""Apply declared known incompatibilities to judged cells.

The cell's real `status` never changes; `shown_as` becomes `expected` where a live
expectation covers a failing cell. An expectation whose cells now pass, or whose expiry
is past, is stale and reported as such: expectations must not outlive their reason.
"""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
from collections.abc import Sequence

from harness.config.matrix import Expectation
from harness.document.cell import FAILURES, Status
from harness.document.results import EXPECTED, Cell, CellExpectation, StaleExpectation

SELECTORS = ("producer", "model", "export", "consumer", "loader")


def matches(exp: Expectation, cell: Cell) -> bool:
    return all(fnmatch.fnmatchcase(getattr(cell, key), getattr(exp, key)) for key in SELECTORS)


def covers(exp: Expectation, status: Status) -> bool:
    return status in FAILURES and (not exp.statuses or status.value in exp.statuses)


def apply(
    cells: Sequence[Cell], expectations: Sequence[Expectation], today: datetime.date
) -> tuple[list[Cell], list[StaleExpectation]]:
    """The cells with `shown_as` (and `expectation` where one matches) set, and the stale expectations."""
    stale: dict[int, StaleExpectation] = {}
    shown = []
    for cell in cells:
        cell = dataclasses.replace(cell, shown_as=cell.status.value, expectation=None)
        for index, exp in enumerate(expectations):
            if not matches(exp, cell) or not (covers(exp, cell.status) or cell.status is Status.PASS):
                continue
            why = staleness(exp, cell.status, today)
            cell = dataclasses.replace(cell, expectation=public(exp, why))
            if why:
                entry = stale.setdefault(index, stale_entry(exp, why))
                entry.cells.append(cell.slug)
            elif covers(exp, cell.status):
                cell = dataclasses.replace(cell, shown_as=EXPECTED)
            break
        shown.append(cell)
    return shown, list(stale.values())


def staleness(exp: Expectation, status: Status, today: datetime.date) -> str | None:
    if exp.expires and datetime.date.fromisoformat(exp.expires) < today:
        return f"expired on {exp.expires}"
    if status is Status.PASS:
        return "now passes"
    return None


def public(exp: Expectation, stale: str | None) -> CellExpectation:
    return CellExpectation(exp.reason, exp.link, exp.expires, selector(exp), stale)


def stale_entry(exp: Expectation, why: str) -> StaleExpectation:
    return StaleExpectation(exp.reason, exp.link, exp.expires, selector(exp), why, [])


def selector(exp: Expectation) -> str:
    return " ".join(f"{k}={getattr(exp, k)}" for k in SELECTORS if getattr(exp, k) != "*") or "every cell"
