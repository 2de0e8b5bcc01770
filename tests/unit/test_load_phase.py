"""The real load phase (runner.load_runtime) against a paddle-free fake worker process:
results are appended as they are judged, and a crash costs exactly one cell."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.config import Matrix, parse_matrix
from harness.plan import Workspace
from harness.runner import load_runtime
from harness.store import read_results, write_json_atomic
from tests.unit.fakes import FakeBackend

MATRIX = """
runtimes: [{id: old, version: "2.6.2"}, {id: new, version: "3.3.1"}]
models: [{id: ppyoloe_tiny}]
export_modes:
  - {id: good, full_graph: true, program_format: legacy}
  - {id: crashy, full_graph: true, program_format: legacy}
  - {id: broken, full_graph: false, program_format: legacy}
loaders: [{id: predictor, api: predictor}, {id: jit_load, api: jit_load}]
"""


def make_exports(ws: Workspace, matrix: Matrix) -> None:
    bbox = np.array([[1, 0.9, 2, 2, 30, 30]], np.float32)
    for rt in matrix.runtimes:
        write_json_atomic(ws.state_file(rt.id), {"id": rt.id, "state": "ready", "fingerprint": {}})
        for mode in ("good", "crashy"):
            out = ws.export_dir(rt.id, "ppyoloe_tiny", mode)
            out.mkdir(parents=True)
            np.savez(out / "reference.npz", output_0=bbox, output_1=np.array([1], np.int32))
            write_json_atomic(out / "export.json", {"status": "ok", "program_file": "model.pdmodel"})
        write_json_atomic(
            ws.export_dir(rt.id, "ppyoloe_tiny", "broken") / "export.json",
            {"status": "export_failed", "error": "RuntimeError: Can't call main_program"},
        )


def test_load_phase_appends_every_cell_and_survives_crashes(
    allow_processes: None, data_dir: Path, tmp_path: Path
) -> None:
    matrix = parse_matrix(MATRIX)
    ws = Workspace(tmp_path)
    make_exports(ws, matrix)
    load_runtime(matrix, FakeBackend(data_dir / "fake_worker.py"), ws, matrix.runtime("new"))  # type: ignore[arg-type]

    lines = [json.loads(x) for x in ws.results_file("new").read_text().splitlines()]
    assert len(lines) == 2 * 3 * 2, "one line per planned cell of this consumer"
    by = {(r["producer"], r["export"], r["loader"]): r for r in lines}
    assert len(read_results(ws.results_dir)) == len(lines)
    assert all(by[(p, "good", ld)]["status"] == "pass" for p in ("old", "new") for ld in ("predictor", "jit_load"))
    crashed = [r for r in lines if r["export"] == "crashy"]
    assert {r["status"] for r in crashed} == {"crash"} and all(r["details"]["signal"] == "SIGSEGV" for r in crashed)
    assert all(by[(p, "broken", "jit_load")]["status"] == "export_failed" for p in ("old", "new"))
    assert "reproduce" in by[("old", "good", "predictor")]["details"]


def test_an_unchanged_rerun_reuses_every_verdict(allow_processes: None, data_dir: Path, tmp_path: Path) -> None:
    matrix = parse_matrix(MATRIX)
    ws = Workspace(tmp_path)
    make_exports(ws, matrix)
    backend = FakeBackend(data_dir / "fake_worker.py")
    load_runtime(matrix, backend, ws, matrix.runtime("new"))  # type: ignore[arg-type]
    first = sorted(ws.results_file("new").read_text().splitlines())
    broken = FakeBackend(tmp_path / "no-such-worker.py")  # would fail every cell if it were started
    load_runtime(matrix, broken, ws, matrix.runtime("new"))  # type: ignore[arg-type]
    assert sorted(ws.results_file("new").read_text().splitlines()) == first
    # A changed export (new content key) is recomputed, and only that one.
    record = ws.export_dir("old", "ppyoloe_tiny", "good") / "export.json"
    write_json_atomic(record, {"status": "ok", "program_file": "model.pdmodel", "key": "retrained"})
    load_runtime(matrix, broken, ws, matrix.runtime("new"))  # type: ignore[arg-type]
    lines = [json.loads(x) for x in ws.results_file("new").read_text().splitlines()]
    redone = [r for r in lines if r["status"] == "infra_error"]
    assert {(r["producer"], r["export"]) for r in redone} == {("old", "good")} and len(redone) == 2


def test_a_cell_that_passes_on_a_retry_is_flaky_with_every_attempt(
    allow_processes: None, data_dir: Path, tmp_path: Path
) -> None:
    matrix = parse_matrix(
        MATRIX.replace(
            "  - {id: broken,", "  - {id: flaky, full_graph: true, program_format: legacy}\n  - {id: broken,"
        )
        + "retries: 1\n"
    )
    ws = Workspace(tmp_path)
    make_exports(ws, matrix)
    for rt in ("old", "new"):
        src, dst = ws.export_dir(rt, "ppyoloe_tiny", "good"), ws.export_dir(rt, "ppyoloe_tiny", "flaky")
        dst.mkdir(parents=True)
        for f in src.iterdir():
            (dst / f.name).write_bytes(f.read_bytes())
    load_runtime(matrix, FakeBackend(data_dir / "fake_worker.py"), ws, matrix.runtime("new"))  # type: ignore[arg-type]
    lines = [json.loads(x) for x in ws.results_file("new").read_text().splitlines()]
    flaky = [r for r in lines if r["export"] == "flaky"]
    assert flaky and all(r["status"] == "flaky" for r in flaky)
    assert all([a["status"] for a in r["details"]["attempts"]] == ["crash", "pass"] for r in flaky)
    crashed = [r for r in lines if r["export"] == "crashy"]
    assert all(r["status"] == "crash" and len(r["details"]["attempts"]) == 2 for r in crashed), "retried, still failing"
    assert all("attempts" not in r["details"] for r in lines if r["export"] == "good"), "a pass is not retried"
