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


# ---------------------------------------------------------------- several scenes
def detection_reply(scenes: list[np.ndarray]) -> dict[str, object]:
    """A worker reply for several scenes: each output tagged with its scene, "@k" names."""
    outputs = []
    for k, box in enumerate(scenes):
        suffix = f"@{k}" if k else ""
        outputs += [
            {"name": f"bbox{suffix}", "scene": k, "dtype": "float32", "shape": list(box.shape),
             "data": box.ravel().tolist()},
            {"name": f"num{suffix}", "scene": k, "dtype": "int32", "shape": [1], "data": [len(box)]},
        ]
    return {"ok": True, "stage": None, "outputs": outputs}


SCENES = [
    np.array([[0, 0.9, 1, 1, 20, 20], [2, 0.8, 30, 30, 50, 50]], np.float32),
    np.zeros((0, 6), np.float32),  # the empty scene
    np.array([[1, 0.95, 10, 10, 90, 80]], np.float32),  # 96x96
]


def save_scenes(directory: Path, scenes: list[np.ndarray]) -> Path:
    reference = directory / "reference.npz"
    arrays: dict[str, np.ndarray] = {}
    inputs: dict[str, np.ndarray] = {}
    for k, box in enumerate(scenes):
        suffix = f"@{k}" if k else ""
        arrays[f"output_0{suffix}"], arrays[f"output_1{suffix}"] = box, np.array([len(box)], np.int32)
        inputs[f"image{suffix}"] = np.zeros((1, 3, 96 if k == 2 else 64, 96 if k == 2 else 64), np.float32)
    np.savez(reference, **arrays)  # type: ignore[arg-type]
    np.savez(directory / "input.npz", **inputs)  # type: ignore[arg-type]
    return reference


def test_every_scene_is_judged_and_the_numbers_add_up(matrix: Matrix, tmp_path: Path) -> None:
    reference = save_scenes(tmp_path, SCENES)
    result = to_result(matrix, KEY, Outcome("done", reply=detection_reply(SCENES)), "cmd", reference)
    assert result.status is Status.PASS and result.max_abs_diff == 0.0
    d = result.details
    assert (d["reference_boxes"], d["consumer_boxes"], d["matched"]) == (3, 3, 3)
    assert [(s["scene"], s["input"], s["matched"], s["status"]) for s in d["scenes"]] == [
        (0, "64x64", 2, "pass"),
        (1, "64x64", 0, "pass"),
        (2, "96x96", 1, "pass"),
    ]


def test_one_mismatching_scene_makes_the_cell_a_mismatch_naming_it(matrix: Matrix, tmp_path: Path) -> None:
    reference = save_scenes(tmp_path, SCENES)
    moved = [s.copy() for s in SCENES]
    moved[2][0, 4] += 3.0  # the 96x96 scene's box is 3 px wider
    result = to_result(matrix, KEY, Outcome("done", reply=detection_reply(moved)), "cmd", reference)
    assert result.status is Status.MISMATCH and result.stage is Stage.COMPARE
    assert result.error.startswith("scene 2 (96x96): ") and "box corner differs by 3" in result.error
    assert result.max_abs_diff == pytest.approx(3.0), "the largest difference of any scene"
    assert [s["status"] for s in result.details["scenes"]] == ["pass", "pass", "mismatch"]


def test_a_spurious_box_on_the_empty_scene_is_a_mismatch(matrix: Matrix, tmp_path: Path) -> None:
    reference = save_scenes(tmp_path, SCENES)
    ghost = [SCENES[0], np.array([[0, 0.5, 1, 1, 9, 9]], np.float32), SCENES[2]]
    result = to_result(matrix, KEY, Outcome("done", reply=detection_reply(ghost)), "cmd", reference)
    assert result.status is Status.MISMATCH and result.error == "scene 1 (64x64): box count 1, reference 0"


def test_a_consumer_answering_fewer_scenes_is_a_mismatch(matrix: Matrix, tmp_path: Path) -> None:
    reference = save_scenes(tmp_path, SCENES)
    result = to_result(matrix, KEY, Outcome("done", reply=detection_reply(SCENES[:2])), "cmd", reference)
    assert result.status is Status.MISMATCH and result.error == "the consumer answered 2 scenes, the reference has 3"
    assert result.max_abs_diff is None


def test_a_later_scene_that_fails_to_run_is_named_in_the_details(matrix: Matrix, tmp_path: Path) -> None:
    reply = {"ok": False, "stage": "run", "scene": 3, "error": "ValueError: shape", "log": "Traceback"}
    result = to_result(matrix, KEY, Outcome("done", reply=reply), "cmd", tmp_path / "reference.npz")
    assert result.status is Status.RUN_FAILED and result.error == "ValueError: shape"
    assert result.details["failed_scene"] == 3


def test_a_single_input_without_scenes_is_judged_exactly_as_before(matrix: Matrix, tmp_path: Path) -> None:
    # What `check` saves for a user's model: output_0..n, one input, outputs without a scene.
    reference = tmp_path / "reference.npz"
    np.savez(reference, output_0=SCENES[0], output_1=np.array([2], np.int32))
    reply = detection_reply([SCENES[0]])
    for o in reply["outputs"]:  # type: ignore[attr-defined]
        del o["scene"]
    result = to_result(matrix, KEY, Outcome("done", reply=reply), "cmd", reference)
    assert result.status is Status.PASS and "scenes" not in result.details
    assert result.details["matched"] == 2
