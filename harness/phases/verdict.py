"""Judge a consumer's outputs against the producer's reference, on the host.

Detection-aware: outputs shaped like PaddleDetection's exports ([N, 6] rows of
label, score, x1, y1, x2, y2 plus a box count) are compared box by box, matched by
IoU within the same label, so a consumer that orders equal-score boxes differently
still passes while one that drops, adds or moves a box does not.

An export is judged on a few fixed scenes (input.npz's "image", "image@1", ...): each scene
is judged on its own (judge) and the verdicts combined (judge_scenes): any scene that
mismatches makes the cell a mismatch naming that scene.

Non-finite values (NaN, inf) never pass, in the reference or in the consumer's outputs:
every comparison with NaN is false, so without an explicit check a NaN score would be
"within tolerance". The numbers a verdict carries describe only what was compared, and
are always finite or None, so results.json stays strict JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from harness.config.matrix import Tolerances
from harness.document.cell import Status

# Columns of a detection row: label, score, x1, y1, x2, y2.
_DETECTION_COLUMNS = (("labels", slice(0, 1)), ("scores", slice(1, 2)), ("boxes", slice(2, 6)))


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


# ---------------------------------------------------------------- non-finite values
def nonfinite_mask(a: np.ndarray) -> np.ndarray:
    """True where `a` holds NaN or +-inf; integer, bool and other dtypes hold none."""
    mask: np.ndarray = ~np.isfinite(a) if a.dtype.kind in "fc" else np.zeros(a.shape, dtype=bool)
    return mask


def _kinds(values: np.ndarray) -> str:
    """'NaN', 'inf', '-inf' or a combination, for the non-finite `values`."""
    kinds = []
    if np.isnan(values).any():
        kinds.append("NaN")
    real = values.real if values.dtype.kind == "c" else values
    if np.isposinf(real).any():
        kinds.append("inf")
    if np.isneginf(real).any():
        kinds.append("-inf")
    return ", ".join(kinds) or "inf"


def _describe(a: np.ndarray, detection: bool) -> tuple[int, str]:
    """(count, "3 non-finite values (NaN) in scores/boxes") for one array; (0, "") if all finite."""
    mask = nonfinite_mask(a)
    count = int(mask.sum())
    if not count:
        return 0, ""
    noun = "value" if count == 1 else "values"
    text = f"{count} non-finite {noun} ({_kinds(a[mask])})"
    if detection:
        where = [name for name, cols in _DETECTION_COLUMNS if mask[:, cols].any()]
        text += " in " + "/".join(where)
    return count, text


def _nonfinite(arrays: list[np.ndarray], detection: bool) -> tuple[int, list[tuple[int, str]]]:
    """Total count and (output index, description) per output holding non-finite values."""
    total, found = 0, []
    for i, a in enumerate(arrays):
        count, text = _describe(a, detection and i == 0)
        if count:
            total += count
            found.append((i, text))
    return total, found


def _nonfinite_problem(
    reference: list[np.ndarray], outputs: list[np.ndarray], details: dict[str, Any], detection: bool
) -> str:
    """Record the counts in `details`; return the error naming them ("" when all is finite)."""
    ref_total, ref_found = _nonfinite(reference, detection)
    out_total, out_found = _nonfinite(outputs, detection)
    details["nonfinite_consumer"] = out_total
    details["nonfinite_reference"] = ref_total
    parts = [f"consumer output {i} has {text}" for i, text in out_found]
    parts += [f"the reference holds non-finite values: output {i} has {text}" for i, text in ref_found]
    return "; ".join(parts)


def _finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _largest(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


# ---------------------------------------------------------------- plain arrays
def judge_arrays(reference: list[np.ndarray], outputs: list[np.ndarray], tol: Tolerances) -> Verdict:
    """Element-wise comparison. max_abs_diff covers every element finite on both sides
    (None when there is none, or when a shape differs and nothing is compared)."""
    details: dict[str, Any] = {}
    nonfinite = _nonfinite_problem(reference, outputs, details, detection=False)
    for i, (ref, out) in enumerate(zip(reference, outputs)):
        if ref.shape != out.shape:
            problem = f"output {i}: shape {list(out.shape)}, reference {list(ref.shape)}"
            return Verdict(Status.MISMATCH, "; ".join(p for p in (nonfinite, problem) if p), None, details)
    worst: float | None = None
    problem = ""
    for i, (ref, out) in enumerate(zip(reference, outputs)):
        both = ~(nonfinite_mask(ref) | nonfinite_mask(out))
        r, o = ref[both].astype(np.float64), out[both].astype(np.float64)
        diff = _max_abs(r, o)
        worst = _largest((worst, diff))
        if not problem and not np.allclose(o, r, atol=tol.array_atol, rtol=tol.array_rtol):
            problem = f"output {i}: max abs difference {diff:.6g} beyond tolerance"
    worst = _finite_or_none(worst)
    if nonfinite or problem:
        return Verdict(Status.MISMATCH, nonfinite or problem, worst, details)
    return Verdict(Status.PASS, max_abs_diff=worst, details=details)


def _max_abs(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size == 0:
        return None
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


# ---------------------------------------------------------------- detections
def valid_boxes(bbox: np.ndarray) -> np.ndarray:
    """Drop the placeholder rows some NMS versions emit when nothing was detected (label < 0).

    A placeholder is all finite: a row holding NaN or inf anywhere is a detection gone
    wrong and is kept (NaN < 0 is false, but so is -1 < 0 for a row with a NaN score)."""
    finite = ~nonfinite_mask(bbox).any(axis=1)
    placeholder = finite & (np.where(finite, bbox[:, 0], 0) < 0)
    return bbox[~placeholder].astype(np.float64)


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
    """Box-by-box comparison. Rows holding NaN/inf take no part in matching (they count as
    unmatched); the differences and max_abs_diff are those of the matched boxes, None
    when no box matched."""
    ref_all, out_all = valid_boxes(reference[0]), valid_boxes(outputs[0])
    ref = ref_all[~nonfinite_mask(ref_all).any(axis=1)]
    out = out_all[~nonfinite_mask(out_all).any(axis=1)]
    pairs = match_boxes(ref, out, tol.iou_min)
    score_diff = _largest(float(abs(ref[r, 1] - out[o, 1])) for r, o, _ in pairs)
    box_diff = _largest(float(np.max(np.abs(ref[r, 2:] - out[o, 2:]))) for r, o, _ in pairs)
    details: dict[str, Any] = {
        "reference_boxes": len(ref_all),
        "consumer_boxes": len(out_all),
        "matched": len(pairs),
        "unmatched_reference": len(ref_all) - len(pairs),
        "unmatched_consumer": len(out_all) - len(pairs),
        "max_score_diff": _finite_or_none(score_diff),
        "max_box_diff": _finite_or_none(box_diff),
        "min_iou": _finite_or_none(min((i for _, _, i in pairs), default=None)),
    }
    worst = _finite_or_none(_largest((score_diff, box_diff)))
    problem = _nonfinite_problem(reference, outputs, details, detection=True)
    problem = problem or _detection_problem(ref_all, out_all, pairs, outputs, score_diff, box_diff, tol)
    if problem:
        return Verdict(Status.MISMATCH, problem, worst, details)
    return Verdict(Status.PASS, max_abs_diff=worst, details=details)


def _detection_problem(
    ref: np.ndarray,
    out: np.ndarray,
    pairs: list[tuple[int, int, float]],
    outputs: list[np.ndarray],
    score_diff: float | None,
    box_diff: float | None,
    tol: Tolerances,
) -> str:
    if len(ref) != len(out):
        return f"box count {len(out)}, reference {len(ref)}"
    if len(pairs) != len(ref):
        return f"{len(ref) - len(pairs)} of {len(ref)} reference boxes have no same-label box at IoU >= {tol.iou_min}"
    if score_diff is not None and not score_diff <= tol.score_atol:
        return f"score differs by {score_diff:.6g} (tolerance {tol.score_atol})"
    if box_diff is not None and not box_diff <= tol.box_atol:
        return f"box corner differs by {box_diff:.6g} px (tolerance {tol.box_atol})"
    if len(outputs) > 1 and outputs[1].size == 1 and int(outputs[1].ravel()[0]) != len(out):
        return f"bbox_num says {int(outputs[1].ravel()[0])}, the bbox output has {len(out)} detections"
    return ""


# ---------------------------------------------------------------- scenes
# How the numbers of every scene add up to the cell's: counts add, differences take the
# largest, IoUs the smallest.
_SUMMED = (
    "reference_boxes",
    "consumer_boxes",
    "matched",
    "unmatched_reference",
    "unmatched_consumer",
    "nonfinite_consumer",
    "nonfinite_reference",
)
_LARGEST = ("max_score_diff", "max_box_diff")
_SMALLEST = ("min_iou",)


def scene_of(key: str) -> tuple[str, int]:
    """(name, k) of a scene-suffixed key: "output_0@2" is output_0 of scene 2; no suffix: scene 0."""
    name, sep, k = key.rpartition("@")
    if sep and name and k.isdigit():
        return name, int(k)
    return key, 0


def output_scenes(outputs: list[dict[str, Any]]) -> list[list[np.ndarray]]:
    """A worker's encoded outputs as arrays per scene, in its order (an output without a scene
    is scene 0); one empty scene when there is none."""
    grouped: dict[int, list[np.ndarray]] = {}
    for o in outputs:
        array = np.asarray(o["data"], dtype=o["dtype"]).reshape(o["shape"])
        grouped.setdefault(int(o.get("scene", 0)), []).append(array)
    return [grouped[k] for k in sorted(grouped)] or [[]]


def reference_scenes(path: Path) -> list[list[np.ndarray]]:
    """A reference .npz per scene: "output_0".."output_n" (scene 0), "output_0@k".. (scene k)."""
    grouped: dict[int, dict[int, np.ndarray]] = {}
    with np.load(path) as ref:
        for name in ref.files:
            base, k = scene_of(name)
            grouped.setdefault(k, {})[int(base.rpartition("_")[2])] = ref[name]
    return [[grouped[k][i] for i in sorted(grouped[k])] for k in sorted(grouped)]


def judge_scenes(
    reference: list[list[np.ndarray]], outputs: list[list[np.ndarray]], tol: Tolerances, labels: list[str] | None = None
) -> Verdict:
    """Every scene judged with `judge`, then combined: the worst status, the first
    mismatching scene's error named by its scene (and how many others mismatch), the
    numbers added up over the scenes, one entry per scene in details["scenes"]; max_abs_diff
    the largest of the scenes' (None when no scene compared anything). One scene: exactly
    `judge`'s verdict."""
    if len(reference) == 1 and len(outputs) == 1:
        return judge(reference[0], outputs[0], tol)
    inputs = [labels[k] if labels and k < len(labels) else "" for k in range(len(reference))]
    if len(outputs) != len(reference):
        error = f"the consumer answered {len(outputs)} scenes, the reference has {len(reference)}"
        counts = {"scenes_reference": len(reference), "scenes_consumer": len(outputs)}
        return Verdict(Status.MISMATCH, error, None, counts)
    verdicts = [judge(r, o, tol) for r, o in zip(reference, outputs)]
    failed = [k for k, v in enumerate(verdicts) if v.status is not Status.PASS]
    details = combine_details([v.details for v in verdicts])
    details["scenes"] = [
        {"scene": k, "input": inputs[k], "status": v.status.value, "error": v.error, "max_abs_diff": v.max_abs_diff}
        | v.details
        for k, v in enumerate(verdicts)
    ]
    worst = _largest(v.max_abs_diff for v in verdicts)
    if not failed:
        return Verdict(Status.PASS, max_abs_diff=worst, details=details)
    first = failed[0]
    error = f"scene {first}" + (f" ({inputs[first]})" if inputs[first] else "") + f": {verdicts[first].error}"
    if len(failed) > 1:
        error += f" (and {len(failed) - 1} more of {len(verdicts)} scenes)"
    return Verdict(Status.MISMATCH, error, worst, details)


def combine_details(per_scene: list[dict[str, Any]]) -> dict[str, Any]:
    """The cell's numbers from its scenes' (only the keys every scene has)."""
    combined: dict[str, Any] = {}
    for key in _SUMMED + _LARGEST + _SMALLEST:
        if not per_scene or not all(key in d for d in per_scene):
            continue
        values = [d[key] for d in per_scene]
        if key in _SUMMED:
            combined[key] = sum(values)
        elif key in _LARGEST:
            combined[key] = _largest(values)
        else:
            present = [v for v in values if v is not None]
            combined[key] = min(present) if present else None
    return combined
