from __future__ import annotations

import json
from pathlib import Path

from harness.config import load_matrix
from harness.inside.common import error_summary
from harness.plan import Workspace, planned_cells
from harness.report import collect, write_reports
from harness.status import Result, Status, clip
from harness.store import append_result, read_results, write_json_atomic

ROOT = Path(__file__).parents[2]
MATRIX = load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")


def test_report_has_every_planned_cell_and_names_missing_phases(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "work")
    first = planned_cells(MATRIX)[0]
    append_result(ws.results_file(first.consumer), Result.for_cell(first, Status.PASS, max_abs_diff=0.0))
    results = collect(MATRIX, ws)
    assert len(results["cells"]) == len(planned_cells(MATRIX))
    assert results["cells"][0]["status"] == "pass"
    missing = results["cells"][1]
    assert missing["status"] == "infra_error" and "was not built: run the build phase for it" in missing["error"]
    assert {r["state"] for r in results["runtimes"]} == {"not_built"}


def test_a_load_phase_that_never_ran_is_named(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "work")
    key = planned_cells(MATRIX)[0]
    for rt in MATRIX.runtimes:
        write_json_atomic(ws.state_file(rt.id), {"id": rt.id, "state": "ready"})
    write_json_atomic(ws.export_dir(key.producer, key.model, key.export) / "export.json", {"status": "ok"})
    [cell] = [
        c
        for c in collect(MATRIX, ws)["cells"]
        if c["producer"] == key.producer
        and c["export"] == key.export
        and c["consumer"] == key.consumer
        and c["loader"] == key.loader
        and c["model"] == key.model
    ]
    assert cell["status"] == "infra_error" and f"the load phase for {key.consumer} did not run" in cell["error"]


def test_reports_are_written_and_readable(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "work")
    results = write_reports(MATRIX, ws, tmp_path / "reports")
    assert json.loads((tmp_path / "reports" / "results.json").read_text())["schema_version"] == 1
    assert (tmp_path / "reports" / "index.html").read_text().count("<html") == 1
    assert results["summary"] == {"infra_error": len(planned_cells(MATRIX))}


def test_last_line_wins_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    key = planned_cells(MATRIX)[0]
    path = tmp_path / "c.jsonl"
    append_result(path, Result.for_cell(key, Status.CRASH))
    append_result(path, Result.for_cell(key, Status.PASS))
    with path.open("a") as handle:
        handle.write('{"producer": "cpu-2.6.2", "sta')
    found = read_results(tmp_path)
    assert list(found) == [key] and found[key].status is Status.PASS


def test_results_round_trip(tmp_path: Path) -> None:
    key = planned_cells(MATRIX)[0]
    original = Result.for_cell(key, Status.MISMATCH, error="e", max_abs_diff=0.5, details={"matched": 1})
    assert Result.from_json(json.loads(json.dumps(original.to_json()))) == original


def test_atomic_json_leaves_no_temp_files(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "a" / "x.json", {"k": 1})
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.json"]


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


def test_every_cell_names_the_repro_command(tmp_path: Path) -> None:
    cells = collect(MATRIX, Workspace(tmp_path / "work"))["cells"]
    first = cells[0]
    expected = (
        f"nox -s repro -- {first['producer']} {first['consumer']} --model {first['model']} "
        f"--export {first['export']} --loader {first['loader']}"
    )
    assert first["details"]["repro"] == expected
    assert all(c["details"]["repro"].startswith("nox -s repro -- ") for c in cells)
