"""Declared expectations: a covered failure is shown as expected and keeps its real status;
one that now passes or has expired is stale."""

from __future__ import annotations

import datetime

from harness.config.matrix import Expectation, parse_matrix
from harness.document.cell import Status
from harness.document.results import EXPECTED, Cell
from harness.report import expectations
from tests.unit.report.data import pir_matrix, pir_result

MATRIX = parse_matrix(pir_matrix('{id: cpu-2.6.2, version: "2.6.2"}, {id: cpu-3.3.1, version: "3.3.1"}'))
TODAY = datetime.date(2026, 11, 23)


def cell(producer: str, consumer: str, status: Status) -> Cell:
    return Cell.from_result(pir_result(producer, consumer, status))


def test_expected_failures_keep_their_real_status() -> None:
    cells, stale = expectations.apply(
        [cell("cpu-3.3.1", "cpu-2.6.2", Status.CRASH), cell("cpu-3.3.1", "cpu-3.3.1", Status.CRASH)],
        MATRIX.expectations,
        TODAY,
    )
    assert [c.shown_as for c in cells] == [EXPECTED, "crash"]
    assert cells[0].status is Status.CRASH and cells[0].expectation is not None
    assert cells[0].expectation.reason.startswith("2.x cannot") and cells[0].expectation.stale is None
    assert cells[0].expectation.selector == "producer=*-3.* consumer=*-2.*"
    assert cells[1].expectation is None and stale == []


def test_an_expectation_that_now_passes_or_expired_is_stale() -> None:
    passing, [entry] = expectations.apply([cell("cpu-3.3.1", "cpu-2.6.2", Status.PASS)], MATRIX.expectations, TODAY)
    assert entry.why_stale == "now passes" and passing[0].shown_as == "pass"
    assert entry.cells == ["cpu-3.3.1__m__fullgraph_on-pir__cpu-2.6.2__predictor"]
    assert passing[0].expectation is not None and passing[0].expectation.stale == "now passes"
    expired = (Expectation(reason="old", expires="2026-01-01"),)
    failing, [entry] = expectations.apply([cell("cpu-3.3.1", "cpu-2.6.2", Status.LOAD_FAILED)], expired, TODAY)
    assert entry.why_stale == "expired on 2026-01-01" and failing[0].shown_as == "load_failed"
    assert entry.selector == "every cell"


def test_uncovered_status_is_not_hidden() -> None:
    [mismatch], stale = expectations.apply(
        [cell("cpu-3.3.1", "cpu-2.6.2", Status.MISMATCH)], MATRIX.expectations, TODAY
    )
    assert mismatch.shown_as == "mismatch" and mismatch.expectation is None and stale == []


def test_applying_again_starts_from_the_real_status() -> None:
    once, _ = expectations.apply([cell("cpu-3.3.1", "cpu-2.6.2", Status.CRASH)], MATRIX.expectations, TODAY)
    again, _ = expectations.apply(once, (), TODAY)
    assert again[0].shown_as == "crash" and again[0].expectation is None
