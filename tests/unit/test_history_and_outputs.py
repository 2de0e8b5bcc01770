"""Expectations, night-over-night transitions, trend, JUnit/Markdown and the exit policy,
on a real workspace written by hand (no Paddle)."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import expectations, policy
from harness.config import Expectation, Matrix, parse_matrix
from harness.outputs import junit_xml, markdown
from harness.plan import Workspace
from harness.report import write_reports
from harness.status import CellKey, Result, Status
from harness.store import append_result, write_json_atomic

MATRIX = """
runtimes: [{id: cpu-2.6.2, version: "2.6.2"}, {id: cpu-3.3.1, version: "3.3.1"}, {id: cpu-2.5, version: "2.5.2"}]
models: [{id: m}]
export_modes: [{id: fullgraph_on-pir, full_graph: true, program_format: pir}]
loaders: [{id: predictor, api: predictor}]
expectations:
  - {reason: "2.x cannot read PIR <b>", link: "https://github.com/PaddlePaddle/Paddle/issues/71134",
     producer: "*-3.*", consumer: "*-2.*", statuses: [crash, load_failed]}
"""
TODAY = datetime.date(2026, 11, 23)


def cell(p: str, c: str, status: Status, diff: float | None = None, error: str = "") -> Result:
    return Result.for_cell(CellKey(p, "m", "fullgraph_on-pir", c, "predictor"), status, max_abs_diff=diff, error=error)


def night(ws: Workspace, results: list[Result]) -> None:
    for rid in ("cpu-2.6.2", "cpu-3.3.1"):
        write_json_atomic(ws.state_file(rid), {"id": rid, "state": "ready", "backend": "venv", "fingerprint": {}})
    write_json_atomic(ws.state_file("cpu-2.5"), {"id": "cpu-2.5", "state": "unavailable", "reason": "index down"})
    for path in ws.results_dir.glob("*.jsonl"):
        path.unlink()
    for r in results:
        append_result(ws.results_file(r.consumer), r)


@pytest.fixture
def matrix() -> Matrix:
    return parse_matrix(MATRIX)


def by_pair(results: dict, producer: str, consumer: str) -> dict:
    return next(c for c in results["cells"] if c["producer"] == producer and c["consumer"] == consumer)


def test_expected_failures_keep_their_real_status(matrix: Matrix) -> None:
    cells = [
        cell("cpu-3.3.1", "cpu-2.6.2", Status.CRASH).to_json(),
        cell("cpu-3.3.1", "cpu-3.3.1", Status.CRASH).to_json(),
    ]
    stale = expectations.apply(cells, matrix.expectations, TODAY)
    assert [c["shown_as"] for c in cells] == ["expected", "crash"]
    assert cells[0]["status"] == "crash" and cells[0]["expectation"]["reason"].startswith("2.x cannot")
    assert stale == []


def test_an_expectation_that_now_passes_or_expired_is_stale(matrix: Matrix) -> None:
    passing = [cell("cpu-3.3.1", "cpu-2.6.2", Status.PASS).to_json()]
    [entry] = expectations.apply(passing, matrix.expectations, TODAY)
    assert entry["why_stale"] == "now passes" and passing[0]["shown_as"] == "pass"
    expired = (Expectation(reason="old", expires="2026-01-01"),)
    failing = [cell("cpu-3.3.1", "cpu-2.6.2", Status.LOAD_FAILED).to_json()]
    [entry] = expectations.apply(failing, expired, TODAY)
    assert entry["why_stale"] == "expired on 2026-01-01" and failing[0]["shown_as"] == "load_failed"


def test_uncovered_status_is_not_hidden(matrix: Matrix) -> None:
    mismatch = [cell("cpu-3.3.1", "cpu-2.6.2", Status.MISMATCH).to_json()]
    expectations.apply(mismatch, matrix.expectations, TODAY)
    assert mismatch[0]["shown_as"] == "mismatch" and "expectation" not in mismatch[0]


def test_two_nights_give_transitions_trend_and_a_stable_rebuild(matrix: Matrix, tmp_path: Path) -> None:
    ws, hist = Workspace(tmp_path / "work"), tmp_path / "history.sqlite"
    night(
        ws,
        [
            cell("cpu-2.6.2", "cpu-3.3.1", Status.PASS, 0.0),
            cell("cpu-3.3.1", "cpu-3.3.1", Status.LOAD_FAILED),
            cell("cpu-2.6.2", "cpu-2.6.2", Status.PASS, 0.0),
            cell("cpu-3.3.1", "cpu-2.6.2", Status.CRASH),
        ],
    )
    first = write_reports(matrix, ws, tmp_path / "r1", hist)
    assert first["transitions"]["previous_run"] is None
    night(
        ws,
        [
            cell("cpu-2.6.2", "cpu-3.3.1", Status.LOAD_FAILED, error="ValueError: x"),
            cell("cpu-3.3.1", "cpu-3.3.1", Status.PASS, 0.0),
            cell("cpu-2.6.2", "cpu-2.6.2", Status.PASS, 0.5),
            cell("cpu-3.3.1", "cpu-2.6.2", Status.CRASH),
        ],
    )
    second = write_reports(matrix, ws, tmp_path / "r2", hist)
    assert second["transitions"]["previous_run"]["id"] == first["run"]["id"]
    assert {k: second["transitions"][k] for k in ("newly_broken", "newly_fixed", "changed")} == {
        "newly_broken": 1,
        "newly_fixed": 1,
        "changed": 1,
    }
    assert by_pair(second, "cpu-2.6.2", "cpu-3.3.1")["transition"] == "newly_broken"
    assert by_pair(second, "cpu-2.6.2", "cpu-3.3.1")["previous"]["status"] == "pass"
    assert by_pair(second, "cpu-2.6.2", "cpu-2.6.2")["transition"] == "changed", "numeric drift beyond tolerance"
    assert "transition" not in by_pair(second, "cpu-3.3.1", "cpu-2.6.2"), "expected crash both nights"
    assert [p["counts"].get("pass", 0) for p in second["trend"]["cpu-3.3.1"]] == [1, 1]
    again = write_reports(matrix, ws, tmp_path / "r3", hist)
    assert again["run"]["id"] == second["run"]["id"] and again["transitions"] == second["transitions"]
    assert policy.decide(second, "new", False).exit_code == policy.EXIT_INCOMPATIBLE
    assert policy.decide(first, "new", False).exit_code == 0
    assert policy.decide(first, "unexpected", False).exit_code == policy.EXIT_INCOMPATIBLE
    assert policy.decide(first, "never", True).exit_code == policy.EXIT_INFRA, "cpu-2.5 could not be built"
    md = markdown(second)
    assert "1 newly broken, 1 newly fixed, 1 changed" in md and "ValueError: x" in md
    assert "`cpu-2.5` unavailable: index down" in md


def test_junit_has_one_testcase_per_cell_with_the_right_kind(matrix: Matrix, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "work")
    night(
        ws,
        [
            cell("cpu-2.6.2", "cpu-3.3.1", Status.LOAD_FAILED, error="bad \x00 byte"),
            cell("cpu-3.3.1", "cpu-2.6.2", Status.CRASH),
            cell("cpu-2.6.2", "cpu-2.6.2", Status.PASS, 0.0),
        ],
    )
    results = write_reports(matrix, ws, tmp_path / "r", None)
    suite = ET.fromstring(junit_xml(results))
    cases = suite.findall("testcase")
    assert len(cases) == len(results["cells"]) == 9
    kinds = {(c.get("classname"), c.get("name")): [e.tag for e in c] for c in cases}
    assert kinds[("cpu-2.6.2.m.fullgraph_on-pir", "cpu-3.3.1/predictor")] == ["failure"]
    assert kinds[("cpu-3.3.1.m.fullgraph_on-pir", "cpu-2.6.2/predictor")] == ["skipped"], "expected"
    assert kinds[("cpu-2.6.2.m.fullgraph_on-pir", "cpu-2.6.2/predictor")] == []
    assert kinds[("cpu-3.3.1.m.fullgraph_on-pir", "cpu-3.3.1/predictor")] == ["error"], "never recorded: infra"
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
