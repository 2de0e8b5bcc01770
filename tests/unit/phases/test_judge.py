"""Worker outcomes turned into cell results, judged against the producer's reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.config.matrix import Matrix, load_matrix
from harness.document.cell import CellKey, Stage, Status
from harness.phases.judge import to_result
from harness.runtimes.worker_client import Outcome

ROOT = Path(__file__).parents[3]
KEY = CellKey("cpu-2.6.2", "ppyoloe_tiny", "fullgraph_on-legacy", "cpu-3.3.1", "predictor")


@pytest.fixture
def matrix() -> Matrix:
    return load_matrix(ROOT / "tests" / "data" / "matrix-small.yaml")


def test_crash_outcome_keeps_signal_and_banner(matrix: Matrix, tmp_path: Path) -> None:
    log = "I1123 start\nFatalError: `Segmentation fault` is detected by the operating system.\n"
    outcome = Outcome("crash", signal="SIGSEGV", log=log, seconds=1.5)
    result = to_result(matrix, KEY, outcome, "cmd", tmp_path / "reference.npz")
    assert result.status is Status.CRASH and result.stage is Stage.LOAD
    assert (
        result.error
        == "the loading process died by SIGSEGV: FatalError: `Segmentation fault` is detected by the operating system."
    )
    assert result.details["signal"] == "SIGSEGV" and result.details["reproduce"] == "cmd"


def test_timeout_and_load_failure_outcomes(matrix: Matrix, tmp_path: Path) -> None:
    reference = tmp_path / "reference.npz"
    timed = to_result(matrix, KEY, Outcome("timeout"), "cmd", reference)
    assert timed.status is Status.TIMEOUT and "no answer within" in timed.error
    reply = {"ok": False, "stage": "load", "error": "ValueError: no model", "log": "Traceback"}
    failed = to_result(matrix, KEY, Outcome("done", reply=reply, log="stderr text"), "cmd", reference)
    assert failed.status is Status.LOAD_FAILED and failed.error == "ValueError: no model"
    assert "Traceback" in failed.log and "stderr text" in failed.log


def test_an_infra_outcome_is_a_harness_error_not_a_verdict(matrix: Matrix, tmp_path: Path) -> None:
    outcome = Outcome("infra", reply={"error": "the worker in runtime x did not start:\nImportError"})
    result = to_result(matrix, KEY, outcome, "cmd", tmp_path / "reference.npz")
    assert result.status is Status.INFRA_ERROR and result.error == "the worker in runtime x did not start:"
    assert "ImportError" in result.log


def test_done_outcome_is_judged_against_the_saved_reference(matrix: Matrix, tmp_path: Path) -> None:
    bbox = np.array([[1, 0.9, 1, 1, 20, 20]], dtype=np.float32)
    reference = tmp_path / "reference.npz"
    np.savez(reference, output_0=bbox, output_1=np.array([1], np.int32))

    def reply(box: np.ndarray) -> dict[str, object]:
        outputs = [
            {"name": "bbox", "dtype": "float32", "shape": [1, 6], "data": box.ravel().tolist()},
            {"name": "num", "dtype": "int32", "shape": [1], "data": [1]},
        ]
        return {"ok": True, "stage": None, "outputs": outputs}

    same = to_result(matrix, KEY, Outcome("done", reply=reply(bbox)), "cmd", reference)
    moved = bbox.copy()
    moved[0, 1] = 0.5
    drift = to_result(matrix, KEY, Outcome("done", reply=reply(moved)), "cmd", reference)
    assert same.status is Status.PASS and same.max_abs_diff == 0.0
    assert drift.status is Status.MISMATCH and drift.stage is Stage.COMPARE and "score differs" in drift.error
