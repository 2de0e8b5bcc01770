from __future__ import annotations

import numpy as np

from harness.config.matrix import Tolerances
from harness.document.cell import Status
from harness.phases.verdict import judge, match_boxes

TOL = Tolerances()


def det(*rows: tuple[float, ...]) -> list[np.ndarray]:
    bbox = np.array(rows, dtype=np.float32).reshape(-1, 6)
    return [bbox, np.array([len(bbox)], dtype=np.int32)]


REF = det((0, 0.9, 1, 1, 20, 20), (2, 0.8, 30, 30, 60, 50), (1, 0.8, 5, 40, 15, 60))


def test_identical_detections_pass_with_zero_difference() -> None:
    v = judge(REF, [a.copy() for a in REF], TOL)
    assert v.status is Status.PASS and v.max_abs_diff == 0.0
    assert v.details["matched"] == 3


def test_reordered_equal_score_boxes_still_pass() -> None:
    swapped = det((0, 0.9, 1, 1, 20, 20), (1, 0.8, 5, 40, 15, 60), (2, 0.8, 30, 30, 60, 50))
    assert judge(REF, swapped, TOL).status is Status.PASS


def test_small_float_noise_passes_and_is_measured() -> None:
    noisy = [REF[0] + np.float32(1e-5), REF[1]]
    noisy[0][:, 0] = REF[0][:, 0]
    v = judge(REF, noisy, TOL)
    assert v.status is Status.PASS and 0 < v.max_abs_diff < 1e-4


def test_missing_box_is_a_mismatch() -> None:
    v = judge(REF, det((0, 0.9, 1, 1, 20, 20), (2, 0.8, 30, 30, 60, 50)), TOL)
    assert v.status is Status.MISMATCH and "box count 2, reference 3" in v.error


def test_wrong_label_is_a_mismatch() -> None:
    v = judge(REF, det((0, 0.9, 1, 1, 20, 20), (2, 0.8, 30, 30, 60, 50), (0, 0.8, 5, 40, 15, 60)), TOL)
    assert v.status is Status.MISMATCH and "no same-label box" in v.error


def test_score_drift_beyond_tolerance_is_a_mismatch() -> None:
    drift = det((0, 0.7, 1, 1, 20, 20), (2, 0.8, 30, 30, 60, 50), (1, 0.8, 5, 40, 15, 60))
    v = judge(REF, drift, TOL)
    assert v.status is Status.MISMATCH and "score differs" in v.error
    assert abs(v.max_abs_diff - 0.2) < 1e-6  # type: ignore[operator]


def test_box_shift_within_iou_but_beyond_pixels_is_a_mismatch() -> None:
    moved = det((0, 0.9, 1, 1, 20.3, 20), (2, 0.8, 30, 30, 60, 50), (1, 0.8, 5, 40, 15, 60))
    v = judge(REF, moved, TOL)
    assert v.status is Status.MISMATCH and "box corner differs" in v.error


def test_bbox_num_disagreeing_with_rows_is_a_mismatch() -> None:
    v = judge(REF, [REF[0], np.array([7], dtype=np.int32)], TOL)
    assert v.status is Status.MISMATCH and "bbox_num says 7, the bbox output has 3 detections" in v.error


def test_placeholder_rows_for_no_detection_count_as_empty() -> None:
    empty_new = [np.zeros((0, 6), np.float32), np.array([0], np.int32)]
    empty_old = [np.full((1, 6), -1, np.float32), np.array([0], np.int32)]
    assert judge(empty_new, empty_old, TOL).status is Status.PASS


def test_output_count_and_plain_arrays() -> None:
    assert judge(REF, REF[:1], TOL).status is Status.MISMATCH
    a = [np.arange(6, dtype=np.float32).reshape(2, 3)]
    assert judge(a, [a[0] + 1e-6], TOL).status is Status.PASS
    assert "max abs difference" in judge(a, [a[0] + 1], TOL).error
    assert "shape" in judge(a, [a[0].reshape(3, 2)], TOL).error


def test_matching_is_one_to_one() -> None:
    ref = np.array([[0, 0.9, 0, 0, 10, 10], [0, 0.8, 0, 0, 10, 10]], dtype=np.float64)
    out = np.array([[0, 0.9, 0, 0, 10, 10]], dtype=np.float64)
    assert len(match_boxes(ref, out, 0.5)) == 1
