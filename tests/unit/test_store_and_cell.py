"""The result store and the cell record (moved here from test_report_and_store.py when the
report tests moved to tests/unit/report/)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.config.matrix import load_matrix
from harness.config.plan import planned_cells
from harness.document.cell import Result, Status, clip
from harness.inside.common import error_summary
from harness.store.files import write_json_atomic
from harness.store.results import append_result, read_results

ROOT = Path(__file__).parents[2]
MATRIX = load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")


def test_last_line_wins_and_a_torn_line_is_reported(tmp_path: Path) -> None:
    key = planned_cells(MATRIX)[0]
    path = tmp_path / "c.jsonl"
    append_result(path, Result.for_cell(key, Status.CRASH))
    append_result(path, Result.for_cell(key, Status.PASS))
    with path.open("a") as handle:
        handle.write('{"producer": "cpu-2.6.2", "sta')
    found = read_results(tmp_path)
    assert list(found.cells) == [key] and found.cells[key].status is Status.PASS
    [problem] = found.problems
    assert problem.startswith(f"{path}:3: unreadable result line")


def test_results_round_trip() -> None:
    key = planned_cells(MATRIX)[0]
    original = Result.for_cell(key, Status.MISMATCH, error="e", max_abs_diff=0.5, details={"matched": 1})
    assert Result.from_json(json.loads(json.dumps(original.to_json()))) == original


def test_atomic_json_leaves_no_temp_files(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "a" / "x.json", {"k": 1})
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.json"]
    assert json.loads((tmp_path / "a" / "x.json").read_text()) == {"k": 1}


def test_clip_keeps_both_ends() -> None:
    text = "HEAD" + "x" * 50000 + "TAIL"
    clipped = clip(text, 1000)
    assert clipped.startswith("HEAD") and clipped.endswith("TAIL") and len(clipped) < 1100


def test_error_summary_finds_the_line_people_grep_for() -> None:
    cxx = "\n\n----\nC++ Traceback (most recent call last):\n0 foo\n----\nError Message Summary:\n----\nNotFoundError: x\n"
    dy2static = "In transformed code:\n\n  File a.py\n\n    TypeError: (InvalidType) matmul(): bad\n"
    assert error_summary(cxx) == "NotFoundError: x"
    assert error_summary(dy2static) == "TypeError: (InvalidType) matmul(): bad"
    assert (
        error_summary("Can't call main_program when full_graph=False.")
        == "Can't call main_program when full_graph=False."
    )
