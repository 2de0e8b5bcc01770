"""Task accuracy: what a cell's detections are worth, on the harness's evaluation set.

Every detector export carries eval.npz (the evaluation images, made by
harness/inside/evalset.py from seeds no training batch uses), reference_eval.npz (the
producer's FP32 dygraph detections on them) and their truth (truth.json "eval"). Each
consumer runs the images after the fixed scenes; here, on the host, pycocotools (the tool
PaddleDetection's own COCO metric uses) turns the consumer's detections, the reference's
and a chance baseline into mAP@0.5 and mAP@0.5:0.95.

Which verdict decides (accuracy_decides): an FP32 export on an FP32 loader in Paddle is
judged numerically against the reference, and its mAP is shown (and must agree with the
reference's where the numbers pass); an INT8 export, a precision loader or a converted
model (a deployment consumer) computes legitimately different numbers, so its mAP decides:
`accuracy_drop` when mAP@0.5 falls more than tolerances.map_drop below the FP32 reference's.
"""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from harness.phases.verdict import nonfinite_mask, output_scenes, reference_scenes, valid_boxes
from harness.store.files import CorruptState, read_json_object

# An FP32 cell whose numbers pass must reproduce the reference's mAP this closely: scores
# within score_atol can swap the ranking of near-equal detections, nothing more.
AGREEMENT = 0.01
_CHANCE_SEED = 20240601
_CHANCE_BOXES = 10  # per image, like the tiny RT-DETR's top-k output


def eval_feeds(out: Path) -> dict[str, str]:
    """A worker task's evaluation images, where the export has them (detectors do)."""
    path = out / "eval.npz"
    return {"eval": str(path)} if path.exists() else {}


def coco_map(truth: list[dict[str, Any]], detections: list[np.ndarray]) -> tuple[float, float] | None:
    """(mAP@0.5, mAP@0.5:0.95) of per-image [N, 6] detections (label, score, x1, y1, x2, y2 in
    pixels) against the truth (per image "size", "boxes" xyxy, "labels"); None when no image
    holds an object. Rows with a negative label (NMS padding) or a non-finite value are dropped."""
    from pycocotools import coco, cocoeval  # type: ignore[import-untyped]

    for module in (coco, cocoeval):
        # Both print as they go. A module-level `print` silences them in every thread, where
        # redirect_stdout would swap sys.stdout under the other threads' progress lines.
        module.print = _silent

    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    labels: set[int] = set()
    for i, image in enumerate(truth):
        images.append({"id": i, "height": image["size"][0], "width": image["size"][1]})
        for (x1, y1, x2, y2), label in zip(image["boxes"], image["labels"]):
            labels.add(int(label))
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": int(label),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    if not annotations:
        return None
    found = [
        {
            "image_id": i,
            "category_id": int(row[0]),
            "score": float(row[1]),
            "bbox": [float(row[2]), float(row[3]), float(row[4] - row[2]), float(row[5] - row[3])],
        }
        for i, rows in enumerate(detections[: len(truth)])
        for row in usable(rows)
    ]
    if not found:
        return 0.0, 0.0  # pycocotools cannot load an empty result; no detection finds nothing
    gt = coco.COCO()
    gt.dataset = {"images": images, "annotations": annotations, "categories": [{"id": c} for c in sorted(labels)]}
    gt.createIndex()
    evaluation = cocoeval.COCOeval(gt, gt.loadRes(found), "bbox")
    # Only the "all" object-size range: both numbers used here are over all sizes, and the
    # small/medium/large ranges would triple evaluate()'s work (summarize says -1 for them).
    evaluation.params.areaRng, evaluation.params.areaRngLbl = [[0.0, 1e10]], ["all"]
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return _unit(evaluation.stats[1]), _unit(evaluation.stats[0])


def _silent(*args: Any, **kwargs: Any) -> None:
    return None


def _unit(value: float) -> float:
    """COCOeval says -1 where nothing could be measured; that is no precision at all."""
    return max(0.0, round(float(value), 4))


def usable(rows: np.ndarray) -> np.ndarray:
    """Detections that can be scored: [N, 6], no padding rows, nothing non-finite."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 6:
        return np.zeros((0, 6))
    rows = valid_boxes(rows)
    return rows[~nonfinite_mask(rows).any(axis=1)]


def per_image(outputs: list[dict[str, Any]]) -> list[np.ndarray]:
    """A worker's eval_outputs as the first output (the [N, 6] boxes) of each image, in order."""
    return [scene[0] for scene in output_scenes(outputs) if scene]


def reference_per_image(path: Path) -> list[np.ndarray]:
    """reference_eval.npz's "output_0@k" per image k."""
    return [scene[0] for scene in reference_scenes(path)]


def chance(truth: list[dict[str, Any]]) -> list[np.ndarray]:
    """A detector that has learnt nothing: per image a fixed number of boxes of random class,
    score, place and a size like the drawn objects' (12 px to half the image)."""
    rng = np.random.RandomState(_CHANCE_SEED)
    classes = max([int(c) for image in truth for c in image["labels"]] or [0]) + 1
    found = []
    for image in truth:
        h, w = image["size"]
        side = rng.randint(12, min(h, w) // 2 + 1, size=(_CHANCE_BOXES, 2))
        x1 = rng.uniform(0, w - side[:, 0])
        y1 = rng.uniform(0, h - side[:, 1])
        rows = np.stack(
            [
                rng.randint(classes, size=_CHANCE_BOXES),
                rng.uniform(size=_CHANCE_BOXES),
                x1,
                y1,
                x1 + side[:, 0],
                y1 + side[:, 1],
            ],
            axis=1,
        )
        found.append(rows)
    return found


def read_eval_truth(out: Path) -> list[dict[str, Any]] | None:
    try:
        truth = read_json_object(out / "truth.json").get("eval")
    except (CorruptState, OSError):
        return None
    return truth if isinstance(truth, list) and truth else None


def baseline(out: Path) -> dict[str, Any] | None:
    """The export's FP32 reference mAP and the chance baseline; None without an evaluation set."""
    files = (out / "truth.json", out / "reference_eval.npz")
    if not all(f.exists() for f in files):
        return None
    stamp = tuple((st.st_mtime_ns, st.st_size) for st in (f.stat() for f in files))
    return _baseline(out, stamp)


@functools.lru_cache(maxsize=512)
def _baseline(out: Path, stamp: tuple[tuple[int, int], ...]) -> dict[str, Any] | None:
    """Computed once per export as on disk (``stamp``: its files' modification times and sizes)."""
    truth = read_eval_truth(out)
    if truth is None:
        return None
    reference = coco_map(truth, reference_per_image(out / "reference_eval.npz"))
    by_chance = coco_map(truth, chance(truth))
    if reference is None or by_chance is None:
        return None
    return {
        "images": len(truth),
        "objects": sum(len(image["labels"]) for image in truth),
        "reference_map50": reference[0],
        "reference_map": reference[1],
        "chance_map50": by_chance[0],
    }


def measure(out: Path, eval_outputs: list[dict[str, Any]] | None) -> tuple[dict[str, Any] | None, str]:
    """The cell's accuracy numbers, or None and why not: "" where there is nothing to measure
    (no evaluation set: not a detector; or no evaluation outputs), the problem where the
    evaluation files cannot be read (a broken export must not take the load phase down)."""
    if not eval_outputs:
        return None, ""
    try:
        base = baseline(out)
        truth = read_eval_truth(out)
        if base is None or truth is None:
            return None, ""
        found = coco_map(truth, per_image(eval_outputs))
    except (OSError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile) as exc:
        return None, f"the evaluation set in {out} cannot be read: {type(exc).__name__}: {exc}"
    if found is None:
        return None, ""
    return {"map50": found[0], "map": found[1], **base, "drop": round(base["reference_map50"] - found[0], 4)}, ""


def accuracy_decides(export_precision: str, loader_precision: str, converted: bool) -> bool:
    """mAP decides for an INT8 export, a precision (INT8) loader or a converted model."""
    return converted or "int8" in (export_precision, loader_precision)
