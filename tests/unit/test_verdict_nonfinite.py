"""Non-finite values never pass, and a verdict's numbers describe what was compared."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.config.matrix import Tolerances
from harness.document.cell import Status
from harness.phases.verdict import Verdict, judge, valid_boxes

TOL = Tolerances()
NAN, INF = float("nan"), float("inf")


def det(*rows: tuple[float, ...]) -> list[np.ndarray]:
    bbox = np.array(rows, dtype=np.float32).reshape(-1, 6)
    return [bbox, np.array([len(bbox)], dtype=np.int32)]


REF = det((0, 0.9, 1, 1, 20, 20), (2, 0.8, 30, 30, 60, 50), (1, 0.8, 5, 40, 15, 60))
EMPTY = [np.zeros((0, 6), np.float32), np.array([0], np.int32)]


def strict_json(v: Verdict) -> None:
    """What the runner stores must serialise as strict JSON (no NaN, no Infinity)."""
    json.dumps({"max_abs_diff": v.max_abs_diff, "details": v.details}, allow_nan=False)


def with_column(arrays: list[np.ndarray], col: int | slice, value: float) -> list[np.ndarray]:
    bbox = arrays[0].copy()
    bbox[:, col] = value
    return [bbox, *arrays[1:]]


def test_nan_scores_are_a_mismatch_naming_nan() -> None:
    v = judge(REF, with_column(REF, 1, NAN), TOL)  # passed before: max() over NaN and nan > atol are false
    assert v.status is Status.MISMATCH
    assert v.error == "consumer output 0 has 3 non-finite values (NaN) in scores"
    assert v.details["nonfinite_consumer"] == 3 and v.details["nonfinite_reference"] == 0
    assert v.details["matched"] == 0 and v.details["unmatched_consumer"] == 3
    assert v.max_abs_diff is None
    strict_json(v)


def test_one_nan_score_leaves_the_other_boxes_measured() -> None:
    out = [REF[0].copy(), REF[1]]
    out[0][1, 1] = NAN
    v = judge(REF, out, TOL)
    assert v.status is Status.MISMATCH and "1 non-finite value (NaN) in scores" in v.error
    assert v.details["matched"] == 2 and v.details["unmatched_reference"] == 1
    assert v.details["unmatched_consumer"] == 1
    assert v.max_abs_diff == 0.0 and v.details["max_score_diff"] == 0.0 and v.details["max_box_diff"] == 0.0
    strict_json(v)


def test_all_nan_output_is_not_reported_as_box_count_zero() -> None:
    v = judge(REF, [np.full((3, 6), NAN, np.float32), REF[1]], TOL)
    assert v.status is Status.MISMATCH
    assert v.error == "consumer output 0 has 18 non-finite values (NaN) in labels/scores/boxes"
    assert "box count" not in v.error
    assert v.details["consumer_boxes"] == 3 and v.details["nonfinite_consumer"] == 18
    assert v.max_abs_diff is None and v.details["max_box_diff"] is None and v.details["min_iou"] is None
    strict_json(v)


def test_empty_reference_against_all_nan_output_is_a_mismatch() -> None:
    v = judge(EMPTY, [np.full((2, 6), NAN, np.float32), np.array([2], np.int32)], TOL)
    assert v.status is Status.MISMATCH and "(NaN)" in v.error
    assert v.details["reference_boxes"] == 0 and v.details["consumer_boxes"] == 2
    assert v.max_abs_diff is None
    strict_json(v)


def test_a_row_with_a_negative_label_and_nan_is_not_a_placeholder() -> None:
    assert len(valid_boxes(np.array([[-1, NAN, 0, 0, 0, 0]], np.float32))) == 1
    assert len(valid_boxes(np.array([[NAN, 0.5, 0, 0, 1, 1]], np.float32))) == 1
    assert len(valid_boxes(np.array([[-1, 0, 0, 0, 0, 0], [-1, -1, -1, -1, -1, -1]], np.float32))) == 0
    v = judge(EMPTY, [np.array([[-1, NAN, 0, 0, 0, 0]], np.float32), np.array([0], np.int32)], TOL)
    assert v.status is Status.MISMATCH and "1 non-finite value (NaN) in scores" in v.error


def test_inf_in_boxes_is_a_mismatch_naming_inf() -> None:
    v = judge(REF, with_column(REF, 4, INF), TOL)
    assert v.status is Status.MISMATCH
    assert v.error == "consumer output 0 has 3 non-finite values (inf) in boxes"
    out = [REF[0].copy(), REF[1]]
    out[0][0, 2], out[0][1, 1] = -INF, NAN
    v = judge(REF, out, TOL)
    assert v.error == "consumer output 0 has 2 non-finite values (NaN, -inf) in scores/boxes"
    strict_json(v)


def test_nan_in_the_reference_never_passes() -> None:
    ref = with_column(REF, 1, NAN)
    v = judge(ref, [a.copy() for a in ref], TOL)  # identical NaN on both sides
    assert v.status is Status.MISMATCH
    assert "the reference holds non-finite values: output 0 has 3 non-finite values (NaN) in scores" in v.error
    assert "consumer output 0 has 3" in v.error
    assert v.details["nonfinite_reference"] == 3 and v.details["nonfinite_consumer"] == 3
    v = judge(ref, REF, TOL)
    assert v.error == "the reference holds non-finite values: output 0 has 3 non-finite values (NaN) in scores"
    assert v.details["nonfinite_consumer"] == 0
    strict_json(v)


def test_nan_box_count_is_named_not_crashed_on() -> None:
    v = judge(REF, [REF[0], np.array([NAN], np.float32)], TOL)
    assert v.status is Status.MISMATCH and v.error == "consumer output 1 has 1 non-finite value (NaN)"
    assert v.max_abs_diff == 0.0


def test_numbers_on_a_total_mismatch_describe_nothing_matched() -> None:
    far = det((0, 0.9, 100, 100, 120, 120), (2, 0.8, 130, 130, 160, 150), (1, 0.8, 105, 140, 115, 160))
    v = judge(REF, far, TOL)
    assert v.status is Status.MISMATCH and "3 of 3 reference boxes have no same-label box" in v.error
    assert v.max_abs_diff is None  # was 0.0: nothing was compared
    assert v.details["matched"] == 0
    assert v.details["unmatched_reference"] == 3 and v.details["unmatched_consumer"] == 3
    assert v.details["max_box_diff"] is None and v.details["max_score_diff"] is None
    assert v.details["min_iou"] is None
    strict_json(v)


def test_numbers_on_a_partial_mismatch_are_those_of_the_matched_boxes() -> None:
    out = det((0, 0.9, 1, 1, 20, 20), (2, 0.8, 30, 30, 60, 50), (1, 0.8, 5, 40, 15, 60), (3, 0.5, 0, 0, 9, 9))
    out[0][0, 1] = np.float32(0.9005)
    v = judge(REF, out, TOL)
    assert v.status is Status.MISMATCH and "box count 4, reference 3" in v.error
    assert v.details["matched"] == 3 and v.details["unmatched_reference"] == 0
    assert v.details["unmatched_consumer"] == 1
    assert v.max_abs_diff == pytest.approx(5e-4, abs=1e-6)
    assert v.details["max_score_diff"] == pytest.approx(5e-4, abs=1e-6) and v.details["max_box_diff"] == 0.0


def test_no_boxes_on_either_side_passes_with_nothing_measured() -> None:
    v = judge(EMPTY, [np.full((1, 6), -1, np.float32), np.array([0], np.int32)], TOL)
    assert v.status is Status.PASS and v.max_abs_diff is None
    assert v.details["matched"] == 0 and v.details["nonfinite_consumer"] == 0


# ---------------------------------------------------------------- plain arrays
A = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1.0, 2.0], np.float64)]


def test_nan_in_a_plain_array_is_a_mismatch_naming_it() -> None:
    out = [A[0].copy(), A[1].copy()]
    out[0][0, 0] = NAN
    v = judge(A, out, TOL)
    assert v.status is Status.MISMATCH and v.error == "consumer output 0 has 1 non-finite value (NaN)"
    assert v.max_abs_diff == 0.0  # the five finite elements and output 1 were compared
    assert v.details == {"nonfinite_consumer": 1, "nonfinite_reference": 0}
    strict_json(v)


def test_inf_on_both_sides_of_a_plain_array_never_passes() -> None:
    ref = [A[0].copy()]
    ref[0][1, 2] = INF
    v = judge(ref, [ref[0].copy()], TOL)  # np.allclose(inf, inf) is True
    assert v.status is Status.MISMATCH
    assert v.error == (
        "consumer output 0 has 1 non-finite value (inf); "
        "the reference holds non-finite values: output 0 has 1 non-finite value (inf)"
    )
    strict_json(v)


def test_all_nan_plain_array_has_no_number() -> None:
    v = judge([A[1]], [np.full(2, NAN)], TOL)
    assert v.status is Status.MISMATCH and "2 non-finite values (NaN)" in v.error
    assert v.max_abs_diff is None
    strict_json(v)


def test_plain_shape_mismatch_has_no_number() -> None:
    v = judge(A, [A[0].reshape(3, 2), A[1] + 5], TOL)
    assert v.status is Status.MISMATCH and "output 0: shape [3, 2], reference [2, 3]" in v.error
    assert v.max_abs_diff is None


def test_plain_difference_still_measured_and_judged() -> None:
    v = judge(A, [A[0] + 1e-6, A[1]], TOL)
    assert v.status is Status.PASS and 0 < v.max_abs_diff < 1e-5  # type: ignore[operator]
    v = judge(A, [A[0], A[1] + 0.5], TOL)
    assert v.status is Status.MISMATCH and v.error == "output 1: max abs difference 0.5 beyond tolerance"
    assert v.max_abs_diff == 0.5
    v = judge([np.array([1, 2], np.int64)], [np.array([1, 2], np.int64)], TOL)
    assert v.status is Status.PASS and v.max_abs_diff == 0.0
