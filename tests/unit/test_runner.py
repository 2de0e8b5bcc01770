"""Cells that settle without running, and worker outcomes turned into results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.config import Matrix, load_matrix
from harness.plan import Workspace
from harness.runner import build, settle_without_running, to_result
from harness.seam import Completed
from harness.status import CellKey, Stage, Status
from harness.store import write_json_atomic
from harness.worker_client import Outcome

ROOT = Path(__file__).parents[2]
KEY = CellKey("cpu-2.6.2", "ppyoloe_tiny", "fullgraph_on-legacy", "cpu-3.3.1", "predictor")


@pytest.fixture
def matrix() -> Matrix:
    return load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    for rid in ("cpu-2.6.2", "cpu-3.3.1"):
        write_json_atomic(ws.state_file(rid), {"id": rid, "state": "ready", "fingerprint": {}})
    write_json_atomic(ws.state_file("cpu-2.5"), {"id": "cpu-2.5", "state": "unavailable", "reason": "index down\nmore"})
    write_json_atomic(ws.state_file("gpu-2.6.2"), {"id": "gpu-2.6.2", "state": "skipped", "reason": "no GPU"})
    return ws


def export_record(ws: Workspace, key: CellKey, **record: object) -> None:
    write_json_atomic(ws.export_dir(key.producer, key.model, key.export) / "export.json", record)


def test_unavailable_and_skipped_runtimes_settle_cells(matrix: Matrix, ws: Workspace) -> None:
    down = settle_without_running(matrix, ws, CellKey("cpu-2.5", "m", "e", "cpu-3.3.1", "l"))
    gpu = settle_without_running(matrix, ws, CellKey("cpu-2.6.2", "m", "e", "gpu-2.6.2", "l"))
    assert down is not None and down.status is Status.UNAVAILABLE and down.stage is Stage.BUILD
    assert down.error == "producer cpu-2.5 unavailable: index down" and "more" in down.log
    assert gpu is not None and gpu.status is Status.SKIPPED and gpu.error.startswith("consumer gpu-2.6.2 skipped")


def test_unbuilt_runtime_and_missing_export_are_infra_errors(matrix: Matrix, ws: Workspace) -> None:
    unbuilt = settle_without_running(matrix, ws, CellKey("cpu-9", "m", "e", "cpu-3.3.1", "l"))
    no_export = settle_without_running(matrix, ws, KEY)
    assert unbuilt is not None and unbuilt.status is Status.INFRA_ERROR
    assert (
        no_export is not None and no_export.status is Status.INFRA_ERROR and "run the export phase" in no_export.error
    )


@pytest.mark.parametrize(
    ("export_status", "expected"),
    [
        ("export_failed", Status.EXPORT_FAILED),
        ("not_applicable", Status.NOT_APPLICABLE),
        ("crash", Status.CRASH),
        ("timeout", Status.TIMEOUT),
    ],
)
def test_failed_exports_settle_their_cells(matrix: Matrix, ws: Workspace, export_status: str, expected: Status) -> None:
    export_record(
        ws, KEY, status=export_status, error="RuntimeError: boom", log="Traceback ...", files={"model.json": 1}
    )
    result = settle_without_running(matrix, ws, KEY)
    assert result is not None and result.status is expected and result.stage is Stage.EXPORT
    assert result.error == "RuntimeError: boom" and result.details["export_files"] == {"model.json": 1}


def test_good_export_needs_running(matrix: Matrix, ws: Workspace) -> None:
    export_record(ws, KEY, status="ok", program_file="model.pdmodel")
    assert settle_without_running(matrix, ws, KEY) is None


def test_crash_outcome_keeps_signal_and_banner(matrix: Matrix, ws: Workspace) -> None:
    log = "I1123 start\nFatalError: `Segmentation fault` is detected by the operating system.\n"
    result = to_result(matrix, ws, KEY, Outcome("crash", signal="SIGSEGV", log=log, seconds=1.5), "cmd")
    assert result.status is Status.CRASH and result.stage is Stage.LOAD
    assert (
        result.error == "the loading process died by SIGSEGV: FatalError: `Segmentation fault` is detected by the operating system."
    )
    assert result.details["signal"] == "SIGSEGV" and result.details["reproduce"] == "cmd"


def test_timeout_and_load_failure_outcomes(matrix: Matrix, ws: Workspace) -> None:
    timed = to_result(matrix, ws, KEY, Outcome("timeout"), "cmd")
    assert timed.status is Status.TIMEOUT and "no answer within" in timed.error
    reply = {"ok": False, "stage": "load", "error": "ValueError: no model", "log": "Traceback"}
    failed = to_result(matrix, ws, KEY, Outcome("done", reply=reply, log="stderr text"), "cmd")
    assert failed.status is Status.LOAD_FAILED and failed.error == "ValueError: no model"
    assert "Traceback" in failed.log and "stderr text" in failed.log


def test_done_outcome_is_judged_against_the_saved_reference(matrix: Matrix, ws: Workspace) -> None:
    bbox = np.array([[1, 0.9, 1, 1, 20, 20]], dtype=np.float32)
    out_dir = ws.export_dir(KEY.producer, KEY.model, KEY.export)
    out_dir.mkdir(parents=True)
    np.savez(out_dir / "reference.npz", output_0=bbox, output_1=np.array([1], np.int32))

    def reply(box: np.ndarray) -> dict[str, object]:
        outputs = [
            {"name": "bbox", "dtype": "float32", "shape": [1, 6], "data": box.ravel().tolist()},
            {"name": "num", "dtype": "int32", "shape": [1], "data": [1]},
        ]
        return {"ok": True, "stage": None, "outputs": outputs}

    same = to_result(matrix, ws, KEY, Outcome("done", reply=reply(bbox)), "cmd")
    moved = bbox.copy()
    moved[0, 1] = 0.5
    drift = to_result(matrix, ws, KEY, Outcome("done", reply=reply(moved)), "cmd")
    assert same.status is Status.PASS and same.max_abs_diff == 0.0
    assert drift.status is Status.MISMATCH and drift.stage is Stage.COMPARE and "score differs" in drift.error


class ProbeCounter:
    """A backend whose runtime is 'built' as identity `built`; counts probes."""

    name = "fake"

    def __init__(self) -> None:
        self.built = "image-1"
        self.probes = 0

    def prepare(self, rt: object) -> None:
        pass

    def identity(self, rt: object) -> str:
        return self.built

    def run(self, rt: object, args: list[str], *, timeout: float, env: object = None) -> Completed:
        self.probes += 1
        return Completed(tuple(args), 0, json.dumps({"paddle_version": "2.6.2", "n": self.probes}) + "\n", "")


def test_an_unchanged_runtime_is_not_probed_again(matrix: Matrix, tmp_path: Path) -> None:
    backend, ws, rt = ProbeCounter(), Workspace(tmp_path), matrix.runtime("cpu-2.6.2")
    first = build(matrix, backend, ws, rt)  # type: ignore[arg-type]
    again = build(matrix, backend, ws, rt)  # type: ignore[arg-type]
    assert backend.probes == 1 and again["fingerprint"] == first["fingerprint"] and again["state"] == "ready"
    backend.built = "image-2"  # rebuilt: the old fingerprint may no longer hold
    rebuilt = build(matrix, backend, ws, rt)  # type: ignore[arg-type]
    assert backend.probes == 2 and rebuilt["fingerprint"]["n"] == 2
