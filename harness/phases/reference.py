"""Is the producer's reference sane? Checked on the host once the export process wrote it,
before any consumer is compared with it: a producer that computes garbage (boxes at 1e36,
every score 1.0 after a diverged training) must not become the yardstick of every cell.

A reference passes when every value is finite, every box lies inside its image (scores in
[0, 1]), the detections find the objects the harness drew into the scenes (the model's
``reference_floor``: IoU, label and score, for at least a fraction of the drawn objects;
only where the export carries the scenes' truth, truth.json, and its outputs are [N, 6]
detections: the positive control's dense boxes and scores are not), and the training loss
is finite and lower at the end than at the start. Pure functions over the export directory:
no Paddle, no processes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.config.matrix import ReferenceFloor
from harness.phases.verdict import iou, is_detection, nonfinite_mask, scene_of, valid_boxes
from harness.store.files import CorruptState, read_json_object

_SCORE_SLACK = 1e-6  # float32 sigmoid output may round a hair past 1


@dataclass(frozen=True)
class ReferenceCheck:
    problems: tuple[str, ...] = ()
    numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def error(self) -> str:
        return "; ".join(self.problems)


def check_export(out: Path, train_record: Path, floor: ReferenceFloor) -> ReferenceCheck:
    """The check of the export in ``out``; ``train_record`` is the train.json of its weights."""
    try:
        scenes = read_scenes(out / "reference.npz")
    except (OSError, ValueError, KeyError) as exc:
        return ReferenceCheck((f"the reference could not be read: {type(exc).__name__}: {exc}",))
    return check_reference(scenes, read_truth(out / "truth.json"), input_sizes(out / "input.npz"),
                           read_losses(train_record), floor)


def check_reference(
    scenes: list[dict[str, np.ndarray]],
    truth: list[dict[str, Any]] | None,
    sizes: list[tuple[int, int] | None],
    losses: list[float] | None,
    floor: ReferenceFloor,
) -> ReferenceCheck:
    """``scenes``: the reference's outputs per scene, by name; ``truth``: per scene its
    "size", drawn "boxes" and "labels" (None: not known); ``sizes``: (H, W) of each scene's
    image where known; ``losses``: the training losses (None: not recorded)."""
    problems: list[str] = []
    numbers: dict[str, Any] = {"scenes": len(scenes)}
    problems += _finite(scenes, numbers)
    problems += _inside(scenes, _image_sizes(truth, sizes, len(scenes)), floor.margin, numbers)
    if truth is not None and any(_detections(outputs) is not None for outputs in scenes):
        problems += _floor(scenes, truth, floor, numbers)
    elif truth is not None:
        numbers["floor_applies"] = "no: the outputs are not [N, 6] detections"
    problems += _trained(losses, numbers)
    return ReferenceCheck(tuple(problems), numbers)


# ---------------------------------------------------------------- reading
def read_scenes(path: Path) -> list[dict[str, np.ndarray]]:
    """reference.npz per scene: {"output_0": ..., "output_1": ...} for scene 0 ("output_i"),
    scene k ("output_i@k")."""
    grouped: dict[int, dict[str, np.ndarray]] = {}
    with np.load(path) as ref:
        for key in ref.files:
            name, k = scene_of(key)
            grouped.setdefault(k, {})[name] = ref[key]
    if not grouped:
        raise ValueError("it holds no outputs")
    return [dict(sorted(grouped[k].items(), key=lambda kv: _index(kv[0]))) for k in sorted(grouped)]


def _index(name: str) -> int:
    tail = name.rpartition("_")[2]
    return int(tail) if tail.isdigit() else 0


def _recorded(path: Path, key: str) -> Any:
    """``key`` of a JSON record the in-runtime code wrote; None when absent or unreadable."""
    if not path.exists():
        return None
    try:
        return read_json_object(path).get(key)
    except CorruptState:
        return None


def read_truth(path: Path) -> list[dict[str, Any]] | None:
    scenes = _recorded(path, "scenes")
    return scenes if isinstance(scenes, list) else None


def input_sizes(path: Path) -> list[tuple[int, int] | None]:
    """(H, W) of each scene's first image-like (4-D) input."""
    if not path.exists():
        return []
    sizes: dict[int, tuple[int, int]] = {}
    with np.load(path) as data:
        for key in data.files:
            _, k = scene_of(key)
            shape = data[key].shape
            if k not in sizes and len(shape) == 4:
                sizes[k] = (int(shape[2]), int(shape[3]))
    return [sizes.get(k) for k in range(max(sizes, default=-1) + 1)]


def read_losses(path: Path) -> list[float] | None:
    losses = _recorded(path, "losses")
    if not isinstance(losses, list):
        return None
    return [float(x) if isinstance(x, (int, float)) else math.nan for x in losses]


def _image_sizes(
    truth: list[dict[str, Any]] | None, sizes: list[tuple[int, int] | None], count: int
) -> list[tuple[int, int] | None]:
    """(H, W) per scene: as the truth says, else as the inputs say, else unknown."""
    known: list[tuple[int, int] | None] = []
    for k in range(count):
        said = truth[k].get("size") if truth is not None and k < len(truth) else None
        if isinstance(said, list) and len(said) == 2:
            known.append((int(said[0]), int(said[1])))
        else:
            known.append(sizes[k] if k < len(sizes) else None)
    return known


# ---------------------------------------------------------------- checks
def _detections(outputs: dict[str, np.ndarray]) -> np.ndarray | None:
    arrays = list(outputs.values())
    return arrays[0] if is_detection(arrays) else None


def _finite(scenes: list[dict[str, np.ndarray]], numbers: dict[str, Any]) -> list[str]:
    found = []
    total = 0
    for k, outputs in enumerate(scenes):
        for name, array in outputs.items():
            count = int(nonfinite_mask(array).sum())
            if count:
                total += count
                found.append(f"{name}" + (f" of scene {k}" if len(scenes) > 1 else ""))
    numbers["nonfinite"] = total
    if not total:
        return []
    noun = "value" if total == 1 else "values"
    return [f"the reference holds {total} non-finite {noun} (in {', '.join(found)})"]


def _inside(
    scenes: list[dict[str, np.ndarray]], sizes: list[Any], margin: float, numbers: dict[str, Any]
) -> list[str]:
    """Boxes outside their image (beyond `margin` px), inverted boxes and scores outside [0, 1]."""
    outside, bad_scores, worst = 0, 0, 0.0
    for k, outputs in enumerate(scenes):
        rows = _detections(outputs)
        if rows is None:
            continue
        rows = valid_boxes(rows)
        rows = rows[~nonfinite_mask(rows).any(axis=1)]
        bad_scores += int(((rows[:, 1] < 0) | (rows[:, 1] > 1 + _SCORE_SLACK)).sum())
        size = sizes[k] if k < len(sizes) else None
        if size is None or not len(rows):
            continue
        h, w = size
        x1, y1, x2, y2 = rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5]
        beyond = np.maximum.reduce([-x1, -y1, x2 - w, y2 - h, x1 - x2, y1 - y2])
        outside += int((beyond > margin).sum())
        worst = max(worst, float(beyond.max()))
    numbers["boxes_outside"] = outside
    numbers["scores_outside"] = bad_scores
    problems = []
    if outside:
        problems.append(
            f"{outside} reference boxes lie outside their image or are inverted (by up to {worst:.6g} px, "
            f"{margin:g} allowed)"
        )
    if bad_scores:
        problems.append(f"{bad_scores} reference scores lie outside [0, 1]")
    return problems


def _floor(
    scenes: list[dict[str, np.ndarray]], truth: list[dict[str, Any]], floor: ReferenceFloor, numbers: dict[str, Any]
) -> list[str]:
    """How many drawn objects a confident, right-label detection finds (one detection per object)."""
    drawn = found = 0
    per_scene = []
    for k, scene in enumerate(truth):
        boxes = np.asarray(scene.get("boxes") or [], dtype=np.float64).reshape(-1, 4)
        labels = [int(c) for c in scene.get("labels") or []]
        rows = _detections(scenes[k]) if k < len(scenes) else None
        confident = np.zeros((0, 6))
        if rows is not None:
            rows = valid_boxes(rows)
            rows = rows[~nonfinite_mask(rows).any(axis=1)]
            confident = rows[rows[:, 1] >= floor.score]
        hits = _found(boxes, labels, confident, floor.iou)
        drawn += len(labels)
        found += hits
        per_scene.append({"drawn": len(labels), "found": hits, "confident_detections": len(confident)})
    recall = found / drawn if drawn else None
    numbers.update(drawn=drawn, found=found, recall=recall, floor=asdict(floor), per_scene=per_scene)
    if not drawn or recall is None or recall >= floor.recall:
        return []
    return [
        f"reference found {found} of {drawn} drawn objects (IoU>={floor.iou:g}, right label, "
        f"score>={floor.score:g}): below the floor {floor.recall:g}"
    ]


def _found(boxes: np.ndarray, labels: list[int], detections: np.ndarray, iou_min: float) -> int:
    """Drawn objects matched one-to-one by a same-label detection at IoU >= iou_min (greedy, best first)."""
    pairs = []
    for t, (box, label) in enumerate(zip(boxes, labels)):
        for d, row in enumerate(detections):
            if int(round(row[0])) == label and (overlap := iou(box, row[2:])) >= iou_min:
                pairs.append((overlap, t, d))
    used_t: set[int] = set()
    used_d: set[int] = set()
    for _, t, d in sorted(pairs, reverse=True):
        if t not in used_t and d not in used_d:
            used_t.add(t)
            used_d.add(d)
    return len(used_t)


def _trained(losses: list[float] | None, numbers: dict[str, Any]) -> list[str]:
    """The loss is finite and lower at the end than at the start (the mean of the last tenth
    of the steps against the first tenth, at least one step each)."""
    if losses is None:
        numbers["train_steps"] = None
        return ["the training record holds no losses"]
    numbers["train_steps"] = len(losses)
    bad = [i for i, x in enumerate(losses) if not math.isfinite(x)]
    if bad:
        return [f"training loss is not finite at {len(bad)} of {len(losses)} steps (first at step {bad[0]})"]
    if len(losses) < 2:
        return []  # one step cannot go down; the floor still judges the weights
    k = max(1, len(losses) // 10)
    start, end = float(np.mean(losses[:k])), float(np.mean(losses[-k:]))
    numbers.update(loss_start=start, loss_end=end)
    if end < start:
        return []
    return [f"training loss did not go down: {start:.6g} over the first {k} steps, {end:.6g} over the last {k}"]
