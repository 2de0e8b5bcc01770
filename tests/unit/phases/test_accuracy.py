"""The accuracy verdict: mAP on the evaluation set (real pycocotools), and which verdict decides."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.config.matrix import Matrix, load_matrix
from harness.document.cell import CellKey, Stage, Status
from harness.phases import accuracy
from harness.phases.judge import to_result
from harness.runtimes.worker_client import Outcome

ROOT = Path(__file__).parents[3]
TRUTH = [
    {"size": [64, 64], "boxes": [[4.0, 4.0, 30.0, 28.0], [40.0, 40.0, 60.0, 58.0]], "labels": [0, 2]},
    {"size": [64, 64], "boxes": [], "labels": []},
    {"size": [64, 64], "boxes": [[10.0, 30.0, 40.0, 60.0]], "labels": [1]},
]


def perfect() -> list[np.ndarray]:
    return [
        np.array([[label, 0.9, *box] for box, label in zip(image["boxes"], image["labels"])], "float32").reshape(-1, 6)
        for image in TRUTH
    ]


def test_a_perfect_detector_scores_one_and_nothing_scores_zero() -> None:
    assert accuracy.coco_map(TRUTH, perfect()) == (1.0, 1.0)
    assert accuracy.coco_map(TRUTH, [np.zeros((0, 6))] * 3) == (0.0, 0.0)
    assert accuracy.coco_map([{"size": [64, 64], "boxes": [], "labels": []}], [np.zeros((0, 6))]) is None


def test_wrong_labels_padding_and_nonfinite_rows_find_nothing() -> None:
    wrong = [d.copy() for d in perfect()]
    for d in wrong:
        d[:, 0] = (d[:, 0] + 1) % 3
    assert accuracy.coco_map(TRUTH, wrong) == (0.0, 0.0)
    padded = [np.concatenate([d, [[-1, 0.0, 0, 0, 0, 0]]]) for d in perfect()]
    assert accuracy.coco_map(TRUTH, padded) == (1.0, 1.0)
    nan = [d.copy() for d in perfect()]
    nan[0][:, 1] = np.nan  # a NaN score is no detection: image 0's two objects are missed
    map50, _ = accuracy.coco_map(TRUTH, nan) or (None, None)
    assert map50 is not None and map50 < 1.0


def test_a_box_off_by_half_its_size_passes_at_iou_half_but_not_above() -> None:
    shifted = [d.copy() for d in perfect()]
    for d in shifted:
        d[:, [2, 4]] += (d[:, 4:5] - d[:, 2:3]).ravel()[:, None] * 0.2  # IoU ~0.67
    map50, map5095 = accuracy.coco_map(TRUTH, shifted) or (0.0, 0.0)
    assert map50 == 1.0 and map5095 < 0.5


def test_chance_is_far_below_a_detector() -> None:
    by_chance = accuracy.coco_map(TRUTH, accuracy.chance(TRUTH))
    assert by_chance is not None and by_chance[0] < 0.2
    assert accuracy.chance(TRUTH)[0].tolist() == accuracy.chance(TRUTH)[0].tolist()  # deterministic


@pytest.mark.parametrize(
    ("export", "loader", "converted", "decides"),
    [("fp32", "fp32", False, False), ("int8", "fp32", False, True), ("fp32", "int8", False, True),
     ("fp32", "fp32", True, True)],
)
def test_which_verdict_decides(export: str, loader: str, converted: bool, decides: bool) -> None:
    assert accuracy.accuracy_decides(export, loader, converted) is decides


# ---------------------------------------------------------------- judged cells
def write_export(out: Path, precision: str) -> None:
    """An export directory as the producer leaves it: reference, evaluation set, truth, record."""
    out.mkdir(parents=True)
    bbox = np.array([[0, 0.9, 4, 4, 30, 28]], "float32")
    np.savez(out / "reference.npz", output_0=bbox, output_1=np.array([1], "int32"))
    np.savez(out / "reference_eval.npz", **{f"output_0@{k}": d for k, d in enumerate(perfect())})
    np.savez(out / "eval.npz", **{f"image@{k}": np.zeros((1, 3, 64, 64), "float32") for k in range(3)})
    (out / "truth.json").write_text(json.dumps({"eval": TRUTH}))
    (out / "export.json").write_text(json.dumps({"status": "ok", "precision": precision, "key": "k"}))


def encoded(array: np.ndarray, scene: int) -> dict[str, Any]:
    return {"name": "bbox", "scene": scene, "dtype": "float32", "shape": list(array.shape), "data": array.ravel().tolist()}


def reply(box: list[float], eval_dets: list[np.ndarray]) -> dict[str, Any]:
    main = np.array([box], "float32")
    return {
        "ok": True,
        "stage": None,
        "outputs": [encoded(main, 0), {"name": "num", "scene": 0, "dtype": "int32", "shape": [1], "data": [1]}],
        "eval_outputs": [encoded(d, k) for k, d in enumerate(eval_dets)],
    }


@pytest.fixture
def matrix() -> Matrix:
    return load_matrix(ROOT / "tests" / "data" / "matrix-precision.yaml")


def judge(matrix: Matrix, tmp_path: Path, precision: str, loader: str, answer: dict[str, Any]) -> Any:
    out = tmp_path / precision
    write_export(out, precision)
    key = CellKey("cpu-2.6.2", "rtdetr_tiny", f"fullgraph_on-legacy-{precision}", "cpu-3.3.1", loader)
    return to_result(matrix, key, Outcome("done", reply=answer), "cmd", out / "reference.npz")


def test_an_fp32_pass_carries_its_map_and_agrees_with_the_reference(matrix: Matrix, tmp_path: Path) -> None:
    result = judge(matrix, tmp_path, "fp32", "predictor", reply([0, 0.9, 4, 4, 30, 28], perfect()))
    assert result.status is Status.PASS
    found = result.details["accuracy"]
    assert found["map50"] == found["reference_map50"] == 1.0 and found["decides"] is False and found["agrees"]
    assert found["chance_map50"] < 0.2 and found["images"] == 3 and found["objects"] == 3


def test_an_fp32_numeric_pass_whose_map_differs_is_flagged(matrix: Matrix, tmp_path: Path) -> None:
    result = judge(matrix, tmp_path, "fp32", "predictor", reply([0, 0.9, 4, 4, 30, 28], [np.zeros((0, 6))] * 3))
    assert result.status is Status.PASS  # the numbers decide an FP32 cell on an FP32 loader
    assert result.details["accuracy"]["agrees"] is False


def test_an_int8_export_is_judged_by_map_not_by_the_numbers(matrix: Matrix, tmp_path: Path) -> None:
    # Scores off by 0.05 (a numeric mismatch), the same detections: accuracy decides, it passes.
    close = judge(matrix, tmp_path / "a", "int8", "predictor", reply([0, 0.85, 4, 4, 30, 28], perfect()))
    assert close.status is Status.PASS and close.stage is None
    assert close.details["numeric"]["status"] == "mismatch" and close.details["accuracy"]["decides"] is True
    # Nothing found on the evaluation set: mAP 0 against the reference's 1.0.
    lost = judge(matrix, tmp_path / "b", "int8", "predictor", reply([0, 0.9, 4, 4, 30, 28], [np.zeros((0, 6))] * 3))
    assert lost.status is Status.ACCURACY_DROP and lost.stage is Stage.ACCURACY
    assert lost.error.startswith("mAP@0.5 0.000 on the evaluation set is 1.000 below the FP32 reference's 1.000")
    assert lost.details["numeric"]["status"] == "pass"


def test_a_precision_loader_is_judged_by_map(matrix: Matrix, tmp_path: Path) -> None:
    result = judge(matrix, tmp_path, "fp32", "predictor-onednn-int8", reply([1, 0.1, 0, 0, 9, 9], perfect()))
    assert result.status is Status.PASS and result.details["accuracy"]["loader_precision"] == "int8"
    assert result.details["numeric"]["status"] == "mismatch"


def test_a_drop_beyond_map_drop_fails_and_within_it_passes(matrix: Matrix, tmp_path: Path) -> None:
    found = perfect()
    found[2] = np.zeros((0, 6), "float32")  # one of three objects missed: well past 0.05
    result = judge(matrix, tmp_path, "int8", "predictor", reply([0, 0.9, 4, 4, 30, 28], found))
    assert result.status is Status.ACCURACY_DROP
    drop = result.details["accuracy"]["drop"]
    assert drop == pytest.approx(result.details["accuracy"]["reference_map50"] - result.details["accuracy"]["map50"])
    tolerant = dataclasses.replace(matrix, tolerances=dataclasses.replace(matrix.tolerances, map_drop=drop))
    again = judge(tolerant, tmp_path / "again", "int8", "predictor", reply([0, 0.9, 4, 4, 30, 28], found))
    assert again.status is Status.PASS


def test_an_export_without_an_evaluation_set_is_judged_by_the_numbers(matrix: Matrix, tmp_path: Path) -> None:
    out = tmp_path / "control"
    write_export(out, "fp32")
    (out / "truth.json").write_text(json.dumps({"scenes": []}))
    key = CellKey("cpu-2.6.2", "control_tiny", "fullgraph_on-legacy", "cpu-3.3.1", "predictor-onednn-int8")
    answer = reply([0, 0.9, 4, 4, 30, 28], perfect())
    result = to_result(matrix, key, Outcome("done", reply=answer), "cmd", out / "reference.npz")
    assert result.status is Status.PASS and "accuracy" not in result.details


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ("reference_eval.npz", "ValueError"),  # numpy: not an .npz, so a pickle it will not load
        ("truth.json", "TypeError"),
    ],
)
def test_a_broken_evaluation_set_is_named_and_the_numbers_still_judge(
    matrix: Matrix, tmp_path: Path, broken: str, why: str
) -> None:
    out = tmp_path / "int8"
    write_export(out, "int8")
    if broken == "truth.json":
        (out / broken).write_text(json.dumps({"eval": [{"size": 64, "boxes": [[1, 2, 3, 4]], "labels": [0]}]}))
    else:
        (out / broken).write_bytes(b"not a zip file at all")
    key = CellKey("cpu-2.6.2", "rtdetr_tiny", "fullgraph_on-legacy-int8", "cpu-3.3.1", "predictor")
    answer = reply([0, 0.9, 4, 4, 30, 28], perfect())
    result = to_result(matrix, key, Outcome("done", reply=answer), "cmd", out / "reference.npz")
    assert result.status is Status.PASS and "accuracy" not in result.details  # the numbers match; no mAP to claim
    assert result.details["accuracy_error"].startswith(f"the evaluation set in {out} cannot be read: {why}")
