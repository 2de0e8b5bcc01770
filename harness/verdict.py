"""Judge a consumer's outputs against the producer's reference, on the host.

Detection-aware: outputs shaped like PaddleDetection's exports ([N, 6] rows of
label, score, x1, y1, x2, y2 plus a box count) are compared box by box, matched by
IoU within the same label, so a consumer that orders equal-score boxes differently
still passes while one that drops, adds or moves a box does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.config import Tolerances
from harness.status import Status


@dataclass(frozen=True)
class Verdict:
    status: Status
    error: str = ""
    max_abs_diff: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def is_detection(arrays: list[np.ndarray]) -> bool:
    return len(arrays) >= 1 and arrays[0].ndim == 2 and arrays[0].shape[1] == 6


def judge(reference: list[np.ndarray], outputs: list[np.ndarray], tol: Tolerances) -> Verdict:
    if len(outputs) != len(reference):
        return Verdict(
            Status.MISMATCH, f"the consumer returned {len(outputs)} outputs, the reference has {len(reference)}"
        )
    if is_detection(reference) and is_detection(outputs):
        return judge_detections(reference, outputs, tol)
    return judge_arrays(reference, outputs, tol)


def judge_arrays(reference: list[np.ndarray], outputs: list[np.ndarray], tol: Tolerances) -> Verdict:
    worst = 0.0
    for i, (ref, out) in enumerate(zip(reference, outputs)):
        if ref.shape != out.shape:
            return Verdict(Status.MISMATCH, f"output {i}: shape {list(out.shape)}, reference {list(ref.shape)}")
        diff = _max_abs(ref, out)
        worst = max(worst, diff)
        if not np.allclose(out.astype(np.float64), ref.astype(np.float64), atol=tol.array_atol, rtol=tol.array_rtol):
            return Verdict(Status.MISMATCH, f"output {i}: max abs difference {diff:.6g} beyond tolerance", worst)
    return Verdict(Status.PASS, max_abs_diff=worst)


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def valid_boxes(bbox: np.ndarray) -> np.ndarray:
    """Drop the placeholder rows some NMS versions emit when nothing was detected (label < 0)."""
    return bbox[bbox[:, 0] >= 0].astype(np.float64)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else float(np.allclose(a, b))


def match_boxes(ref: np.ndarray, out: np.ndarray, iou_min: float) -> list[tuple[int, int, float]]:
    """Greedy match, highest reference score first, same label, best IoU >= iou_min."""
    pairs: list[tuple[int, int, float]] = []
    free = set(range(len(out)))
    for r in np.argsort(-ref[:, 1], kind="stable"):
        best, best_iou = -1, iou_min
        for o in sorted(free):
            if out[o, 0] == ref[r, 0] and (score := iou(ref[r, 2:], out[o, 2:])) >= best_iou:
                best, best_iou = o, score
        if best >= 0:
            free.discard(best)
            pairs.append((int(r), best, best_iou))
    return pairs


def judge_detections(reference: list[np.ndarray], outputs: list[np.ndarray], tol: Tolerances) -> Verdict:
    ref, out = valid_boxes(reference[0]), valid_boxes(outputs[0])
    pairs = match_boxes(ref, out, tol.iou_min)
    score_diff = max((abs(ref[r, 1] - out[o, 1]) for r, o, _ in pairs), default=0.0)
    box_diff = max((float(np.max(np.abs(ref[r, 2:] - out[o, 2:]))) for r, o, _ in pairs), default=0.0)
    details: dict[str, Any] = {
        "reference_boxes": len(ref),
        "consumer_boxes": len(out),
        "matched": len(pairs),
        "max_score_diff": float(score_diff),
        "max_box_diff": box_diff,
        "min_iou": min((i for _, _, i in pairs), default=None),
    }
    worst = max(float(score_diff), box_diff)
    problem = _detection_problem(ref, out, pairs, outputs, details, tol)
    if problem:
        return Verdict(Status.MISMATCH, problem, worst, details)
    return Verdict(Status.PASS, max_abs_diff=worst, details=details)


def _detection_problem(
    ref: np.ndarray,
    out: np.ndarray,
    pairs: list[tuple[int, int, float]],
    outputs: list[np.ndarray],
    details: dict[str, Any],
    tol: Tolerances,
) -> str:
    if len(ref) != len(out):
        return f"box count {len(out)}, reference {len(ref)}"
    if len(pairs) != len(ref):
        return f"{len(ref) - len(pairs)} of {len(ref)} reference boxes have no same-label box at IoU >= {tol.iou_min}"
    if details["max_score_diff"] > tol.score_atol:
        return f"score differs by {details['max_score_diff']:.6g} (tolerance {tol.score_atol})"
    if details["max_box_diff"] > tol.box_atol:
        return f"box corner differs by {details['max_box_diff']:.6g} px (tolerance {tol.box_atol})"
    if len(outputs) > 1 and outputs[1].size == 1 and int(outputs[1].ravel()[0]) != len(out):
        return f"bbox_num says {int(outputs[1].ravel()[0])}, the bbox output has {len(out)} detections"
    return ""
