"""Collecting the matrix report from a work directory written by hand (no Paddle), and
assembling a check report: both go through the one `assemble`."""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

import pytest

from harness.config.matrix import load_matrix, parse_matrix
from harness.config.plan import planned_cells
from harness.document.cell import CellKey, Result, Status
from harness.document.results import EXPECTED, CompatRange, ExportModeEntry, ResultsDocument
from harness.report.collect import assemble, collect, export_entry, repro_command, runtime_entry
from harness.store.files import write_json_atomic
from harness.store.layout import Workspace
from harness.store.results import append_result
from harness.store.state import RuntimeRecord, RuntimeState

ROOT = Path(__file__).resolve().parents[3]
MATRIX = load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")
TODAY = datetime.date(2026, 11, 23)


def ready(ws: Workspace, *runtime_ids: str) -> None:
    for rt in runtime_ids:
        write_json_atomic(ws.state_file(rt), {"id": rt, "state": "ready", "backend": "venv", "fingerprint": {}})


def test_report_has_every_planned_cell_and_names_missing_phases(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "work")
    first = planned_cells(MATRIX)[0]
    append_result(ws.results_file(first.consumer), Result.for_cell(first, Status.PASS, max_abs_diff=0.0))
    doc = collect(MATRIX, ws)
    assert isinstance(doc, ResultsDocument)
    assert [c.key for c in doc.cells] == planned_cells(MATRIX)
    assert doc.cells[0].status is Status.PASS
    missing = doc.cells[1]
    assert missing.status is Status.INFRA_ERROR and "was not built: run the build phase for it" in missing.error
    assert {r.state for r in doc.runtimes} == {RuntimeState.NOT_BUILT}
    assert doc.backend == "none" and doc.infra.infra_error_cells == len(doc.cells) - 1
    assert doc.summary == {"infra_error": len(doc.cells) - 1, "pass": 1}


def test_a_load_phase_that_never_ran_is_named(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "work")
    key = planned_cells(MATRIX)[0]
    ready(ws, *(rt.id for rt in MATRIX.runtimes))
    write_json_atomic(ws.export_dir(key.producer, key.model, key.export) / "export.json", {"status": "ok"})
    [cell] = [c for c in collect(MATRIX, ws).cells if c.key == key]
    assert cell.status is Status.INFRA_ERROR and f"the load phase for {key.consumer} did not run" in cell.error


def test_the_repro_command_is_derived_from_the_key_not_stored_per_cell(tmp_path: Path) -> None:
    cells = collect(MATRIX, Workspace(tmp_path / "work")).cells
    first = cells[0]
    assert repro_command(first.key) == (
        f"nox -s repro -- {first.producer} {first.consumer} --model {first.model} "
        f"--export {first.export} --loader {first.loader}"
    )
    assert not any("repro" in c.details for c in cells)  # the page derives it; results.json does not repeat it


def test_unreadable_result_lines_are_reported_not_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace(tmp_path / "work")
    key = planned_cells(MATRIX)[0]
    path = ws.results_file(key.consumer)
    append_result(path, Result.for_cell(key, Status.PASS))
    with path.open("a") as handle:
        handle.write('{"producer": "cpu-2.5", "sta\n')
    doc = collect(MATRIX, ws)
    assert doc.cells[0].status is Status.PASS
    assert f"warning: {path}:2: unreadable result line" in capsys.readouterr().err


def test_export_records_and_diagnoses_are_in_the_document(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "work")
    ready(ws, "cpu-2.6.2", "cpu-3.3.1")
    key = CellKey("cpu-3.3.1", "ppyoloe_tiny", "fullgraph_off-legacy", "cpu-2.6.2", "predictor")
    out = ws.export_dir(key.producer, key.model, key.export)
    record = {"status": "ok", "program_format": "legacy", "files": {"model.pdmodel": 10}, "pir_api": False}
    write_json_atomic(out / "export.json", {**record, "seconds": 3.5, "log": "not kept"})
    (out / "model.pdiparams").write_bytes(b"weights")
    append_result(ws.results_file(key.consumer), Result.for_cell(key, Status.CRASH, error="SIGSEGV"))
    tried = [{"workaround": "full_graph=True", "status": "pass", "error": "", "max_abs_diff": 0.0}]
    write_json_atomic(ws.root / "diagnoses" / f"{key.slug}.json", {"workarounds": tried, "fixes": ["full_graph=True"]})
    doc = collect(MATRIX, ws)
    [entry] = doc.exports
    assert (entry.producer, entry.model, entry.export, entry.status) == (key.producer, key.model, key.export, "ok")
    assert entry.files == {"model.pdmodel": 10} and entry.pir_api is False
    assert entry.params_sha256 == hashlib.sha256(b"weights").hexdigest()
    [cell] = [c for c in doc.cells if c.key == key]
    assert cell.fixed_by == ["full_graph=True"] and cell.workarounds is not None
    assert cell.workarounds[0].status is Status.PASS
    assert doc.backend == "venv"


def test_unreadable_diagnoses_and_export_records_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace(tmp_path / "work")
    key = planned_cells(MATRIX)[0]
    diagnosis = ws.root / "diagnoses" / f"{key.slug}.json"
    write_json_atomic(diagnosis, {"workarounds": "none"})
    record = ws.export_dir(key.producer, key.model, key.export) / "export.json"
    write_json_atomic(record, {"status": "ok", "warnings": "many"})
    doc = collect(MATRIX, ws)
    assert doc.cells[0].workarounds is None and doc.exports == []
    err = capsys.readouterr().err
    assert f"{diagnosis}: workarounds: expected a list, found a string" in err
    assert f"{record}: warnings: expected a list of strings, found a string" in err


def test_runtime_entries_carry_the_declaration_and_the_recorded_state() -> None:
    rt = MATRIX.runtime("cpu-2.5")
    fingerprint = {"python": "3.9.18", "packages": ["numpy==1.26.4"], "cuda": "none"}
    record = RuntimeRecord("cpu-2.5", RuntimeState.UNAVAILABLE, "index down", fingerprint, "docker")
    entry = runtime_entry(rt, record)
    assert (entry.id, entry.version, entry.pins, entry.index_url) == ("cpu-2.5", "2.5.2", ["numpy<2"], rt.index_url)
    assert entry.state is RuntimeState.UNAVAILABLE and entry.reason == "index down" and entry.backend == "docker"
    assert entry.fingerprint is not None and entry.fingerprint.packages == ["numpy==1.26.4"]
    assert entry.fingerprint.extra == {"cuda": "none"}


CHECK_MATRIX = """
runtimes: [{id: cpu-2.6.2, version: "2.6.2"}, {id: cpu-3.3.1, version: "3.3.1"}, {id: cpu-3.0.0, version: "3.0.0"}]
models: [{id: m}]
export_modes: [{id: fullgraph_on-pir, full_graph: true, program_format: pir}]
loaders: [{id: predictor, api: predictor}, {id: jit_load, api: jit_load}]
expectations:
  - {reason: "everything fails", producer: "*", consumer: "*"}
"""


def test_a_check_report_goes_through_the_same_assemble(tmp_path: Path) -> None:
    matrix = parse_matrix(CHECK_MATRIX)
    states = {"cpu-2.6.2": RuntimeState.READY, "cpu-3.3.1": RuntimeState.READY, "cpu-3.0.0": RuntimeState.SKIPPED}
    runtimes = [runtime_entry(rt, RuntimeRecord(rt.id, states[rt.id])) for rt in matrix.runtimes]
    status = {"cpu-2.6.2": Status.LOAD_FAILED, "cpu-3.3.1": Status.PASS, "cpu-3.0.0": Status.SKIPPED}
    cells = [
        Result.for_cell(CellKey("check:m", "m", "legacy", rt.id, ld.id), status[rt.id])
        for rt in matrix.runtimes
        for ld in matrix.loaders
    ]
    (tmp_path / "model.pdiparams").write_bytes(b"user weights")
    export = export_entry("check:m", "m", "legacy", {"status": "ok", "program_format": "legacy"}, tmp_path)
    info = {"name": "m", "path": "/x", "program_format": "legacy", "inputs": [], "reference_reason": "newest"}
    doc = assemble(
        matrix=matrix,
        runtimes=runtimes,
        cells=cells,
        exports=[export],
        backend="venv",
        run_id="check-m-1",
        check=info,
        today=TODAY,
        models=["m"],
        export_modes=[ExportModeEntry("legacy", "legacy", None, None)],
    )
    assert doc.check == info and doc.run.id == "check-m-1" and doc.models == ["m"]
    assert [m.id for m in doc.export_modes] == ["legacy"]
    # A check producer is not a runtime: the range is computed for it, over the ready consumers.
    assert doc.compat_ranges == [
        CompatRange("check:m", "legacy", ["cpu-3.3.1"], "cpu-3.3.1", "cpu-3.3.1", ["cpu-3.0.0"], "ok", model="m")
    ]
    # The matrix's expectations name the matrix's exports: a check report applies none.
    assert all(c.shown_as != EXPECTED and c.expectation is None for c in doc.cells)
    assert doc.stale_expectations == [] and doc.summary == {"load_failed": 2, "pass": 2, "skipped": 2}
    assert doc.exports[0].params_sha256 == hashlib.sha256(b"user weights").hexdigest()
    assert ResultsDocument.from_json(json.loads(json.dumps(doc.to_json())), "check.json") == doc


def test_a_matrix_report_applies_the_matrixs_expectations(tmp_path: Path) -> None:
    matrix = parse_matrix(CHECK_MATRIX)
    runtimes = [runtime_entry(rt, RuntimeRecord(rt.id, RuntimeState.READY)) for rt in matrix.runtimes]
    key = CellKey("cpu-3.3.1", "m", "fullgraph_on-pir", "cpu-2.6.2", "predictor")
    doc = assemble(
        matrix=matrix,
        runtimes=runtimes,
        cells=[Result.for_cell(key, Status.CRASH)],
        exports=[],
        backend="venv",
        run_id="r",
        today=TODAY,
    )
    assert doc.cells[0].shown_as == EXPECTED and doc.cells[0].status is Status.CRASH
    assert doc.summary == {EXPECTED: 1} and doc.models == ["m"] and doc.export_modes[0].full_graph is True
