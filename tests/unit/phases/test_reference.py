"""The producer's reference is checked before any consumer is compared with it: finite,
inside the image, finding the objects drawn into the scenes, after a training whose loss
went down. A failing check makes the export export_failed at the `reference` stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.config.matrix import Matrix, ReferenceFloor, parse_matrix
from harness.document.cell import CellKey, Stage, Status
from harness.phases.context import RunContext
from harness.phases.export import export_runtime
from harness.phases.reference import check_export, check_reference
from harness.runtimes.seam import Completed
from harness.store.files import read_json, write_json_atomic
from harness.store.layout import Workspace
from harness.store.settled import settle
from tests.unit.fakes import RecordingBackend

FLOOR = ReferenceFloor()
LOSSES = [12.0, 9.0, 6.0, 4.0, 3.0]
# Two scenes of 64x64 with what was drawn into them, and an empty one.
TRUTH: list[dict[str, Any]] = [
    {"size": [64, 64], "boxes": [[4, 6, 32, 30], [40, 4, 58, 18], [38, 40, 51, 53]], "labels": [0, 1, 2]},
    {"size": [64, 64], "boxes": [[2, 30, 32, 60], [44, 44, 58, 58]], "labels": [2, 0]},
    {"size": [64, 64], "boxes": [], "labels": []},
]


def rows(*detections: tuple[float, float, float, float, float, float]) -> np.ndarray:
    return np.array(detections, dtype=np.float32).reshape(-1, 6)


def scene(bbox: np.ndarray) -> dict[str, np.ndarray]:
    return {"output_0": bbox, "output_1": np.array([len(bbox)], np.int32)}


def good() -> list[dict[str, np.ndarray]]:
    """What a trained detector gives: every drawn object, a little off, and nothing on the empty scene."""
    return [
        scene(rows((0, 0.95, 5, 6, 31, 29), (1, 0.9, 41, 5, 57, 18), (2, 0.8, 38, 41, 50, 52))),
        scene(rows((2, 0.97, 3, 31, 31, 59), (0, 0.7, 44, 45, 57, 58))),
        scene(rows()),
    ]


def check(scenes: list[dict[str, np.ndarray]], losses: list[float] | None = LOSSES, **floor: float) -> Any:
    return check_reference(scenes, TRUTH, [(64, 64)] * 3, losses, ReferenceFloor(**floor))


def test_a_sane_reference_passes_with_its_numbers() -> None:
    result = check(good())
    assert result.ok and result.error == ""
    n = result.numbers
    assert (n["drawn"], n["found"], n["recall"]) == (5, 5, 1.0)
    assert n["nonfinite"] == 0 and n["boxes_outside"] == 0 and n["train_steps"] == 5
    assert n["loss_start"] == 12.0 and n["loss_end"] == 3.0
    assert [s["found"] for s in n["per_scene"]] == [3, 2, 0]


def test_garbage_boxes_at_1e36_are_outside_the_image() -> None:
    scenes = good()
    scenes[0]["output_0"][1, 2:] = [1e36, 1e36, 1e36, 1e36]
    result = check(scenes)
    assert not result.ok and result.numbers["boxes_outside"] == 1
    assert result.error.startswith("1 reference boxes lie outside their image or are inverted (by up to 1e+36 px")


def test_boxes_a_little_outside_within_the_margin_pass_and_beyond_it_fail() -> None:
    scenes = good()
    scenes[0]["output_0"][0, 2:] = [-0.5, 6, 31, 64.8]
    assert check(scenes).ok
    scenes[0]["output_0"][0, 2:] = [-3, 6, 31, 29]
    assert "by up to 3 px, 1 allowed" in check(scenes).error
    assert check(scenes, margin=4.0).ok


def test_scores_all_one_on_boxes_that_find_nothing_fail_the_floor() -> None:
    # A diverged training: every score 1.0, boxes anywhere but on the objects.
    junk = rows(*[(k % 3, 1.0, 0, 0, 8, 8) for k in range(10)])
    result = check([scene(junk), scene(junk), scene(junk)])
    assert not result.ok
    assert result.error == (
        "reference found 0 of 5 drawn objects (IoU>=0.5, right label, score>=0.3): below the floor 0.5"
    )


def test_scores_outside_zero_to_one_are_not_a_sane_reference() -> None:
    scenes = good()
    scenes[1]["output_0"][0, 1] = 7.5
    assert "1 reference scores lie outside [0, 1]" in check(scenes).error


def test_a_nan_anywhere_in_the_reference_is_named() -> None:
    scenes = good()
    scenes[1]["output_0"][1, 3] = np.nan
    result = check(scenes)
    assert not result.ok and result.numbers["nonfinite"] == 1
    assert result.error.startswith("the reference holds 1 non-finite value (in output_0 of scene 1)")


def test_the_floor_names_how_many_objects_were_found() -> None:
    scenes = good()
    scenes[0]["output_0"][0, 0] = 2  # wrong label
    scenes[0]["output_0"][1, 1] = 0.2  # below the score
    scenes[0]["output_0"][2, 2:] = [20, 20, 30, 30]  # elsewhere
    scenes[1]["output_0"][0, 2:] = [2, 30, 12, 40]  # IoU ~0.1
    result = check(scenes)
    assert result.error == (
        "reference found 1 of 5 drawn objects (IoU>=0.5, right label, score>=0.3): below the floor 0.5"
    )
    assert check(scenes, recall=0.2).ok, "the floor is the model's own (matrix.yaml)"


def test_a_top_k_model_passes_only_through_its_matched_boxes() -> None:
    # Ten boxes per scene, always: the matched ones count, the rest neither help nor hurt...
    filler = [(1, 0.5, 10, 10, 20, 20)] * 7
    topk = [scene(rows(*good()[0]["output_0"].tolist(), *filler)), scene(rows(*good()[1]["output_0"].tolist(), *filler[:8]))]
    assert check([*topk, scene(rows(*filler))]).ok
    # ...so ten confident boxes that each hit nothing do not pass.
    assert not check([scene(rows(*filler)), scene(rows(*filler)), scene(rows(*filler))]).ok


def test_one_detection_finds_one_object_only() -> None:
    truth = [{"size": [64, 64], "boxes": [[0, 0, 20, 20], [1, 1, 21, 21]], "labels": [0, 0]}]
    result = check_reference([scene(rows((0, 0.9, 0, 0, 20, 20)))], truth, [(64, 64)], LOSSES, FLOOR)
    assert result.numbers["found"] == 1 and result.ok  # 1 of 2 is the floor 0.5


def test_a_loss_that_rises_or_is_not_finite_fails() -> None:
    rising = check(good(), losses=[3.0, 4.0, 6.0, 9.0, 12.0])
    assert rising.error == "training loss did not go down: 3 over the first 1 steps, 12 over the last 1"
    nan = check(good(), losses=[3.0, float("nan"), 1.0])
    assert nan.error == "training loss is not finite at 1 of 3 steps (first at step 1)"
    assert check(good(), losses=None).error == "the training record holds no losses"
    assert check(good(), losses=[5.0]).ok, "one step cannot go down; the floor still judges it"


def test_the_ends_of_the_loss_are_the_mean_of_a_tenth_of_the_steps() -> None:
    noisy = [10.0] * 10 + [2.0, 9.0] * 40 + [3.0] * 10  # last step alone is noisy, its tenth is lower
    result = check(good(), losses=noisy)
    assert result.ok and result.numbers["loss_start"] == 10.0 and result.numbers["loss_end"] == 3.0


def test_without_truth_only_finiteness_boxes_and_loss_are_checked() -> None:
    junk = rows((0, 1.0, 0, 0, 8, 8))
    result = check_reference([scene(junk)], None, [(64, 64)], LOSSES, FLOOR)
    assert result.ok and "found" not in result.numbers
    result = check_reference([scene(rows((0, 1.0, 0, 0, 1e36, 8)))], None, [(64, 64)], LOSSES, FLOOR)
    assert "outside their image" in result.error


def test_the_positive_controls_dense_outputs_get_every_check_but_the_detection_floor() -> None:
    """control_tiny answers boxes [1, 4, G] and scores [1, 3, G], not [N, 6] detections: its
    scenes' truth is known, but the floor (which matches detections) does not apply to it."""
    dense = [{"output_0": np.full((1, 4, 64), 70.0, np.float32), "output_1": np.full((1, 3, 64), 0.5, np.float32)}] * 3
    result = check(dense)
    assert result.ok and result.numbers["floor_applies"] == "no: the outputs are not [N, 6] detections"
    assert "found" not in result.numbers, "raw per-cell boxes may leave the image: they are no detections"
    nan = [{"output_0": np.full((1, 4, 64), np.nan, np.float32), "output_1": np.zeros((1, 3, 64), np.float32)}] * 3
    assert "non-finite" in check(nan).error
    assert "did not go down" in check(dense, losses=[1.0, 2.0]).error


def save_export(out: Path, scenes: list[dict[str, np.ndarray]], truth: list[dict[str, Any]] | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    arrays = {name if k == 0 else f"{name}@{k}": a for k, s in enumerate(scenes) for name, a in s.items()}
    np.savez(out / "reference.npz", **arrays)  # type: ignore[arg-type]
    np.savez(out / "input.npz", **{"image" if k == 0 else f"image@{k}": np.zeros((1, 3, 64, 64), np.float32) for k in range(len(scenes))})  # type: ignore[arg-type]
    if truth is not None:
        (out / "truth.json").write_text(json.dumps({"scenes": truth}))


def test_check_export_reads_the_files_the_producer_wrote(tmp_path: Path) -> None:
    out, train = tmp_path / "export", tmp_path / "train.json"
    train.write_text(json.dumps({"losses": LOSSES}))
    save_export(out, good(), TRUTH)
    result = check_export(out, train, FLOOR)
    assert result.ok and result.numbers["scenes"] == 3 and result.numbers["found"] == 5
    (out / "reference.npz").unlink()
    assert check_export(out, train, FLOOR).error.startswith("the reference could not be read: ")


# ---------------------------------------------------------------- in the export phase
MATRIX = """
runtimes: [{id: cpu-2.6.2, version: "2.6.2"}, {id: cpu-3.3.1, version: "3.3.1"}]
models: [{id: ppyoloe_tiny, reference_floor: {recall: 0.6}}]
export_modes: [{id: fullgraph_on-legacy, full_graph: true, program_format: legacy}]
loaders: [{id: predictor, api: predictor}]
"""


class GarbageBackend(RecordingBackend):
    """Trains and exports like RecordingBackend, but its reference is garbage."""

    def __init__(self, scenes: list[dict[str, np.ndarray]]) -> None:
        super().__init__()
        self.scenes = scenes

    def run(self, rt: Any, args: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Completed:
        done = super().run(rt, args, timeout=timeout, env=env)
        if args[2] == "export":
            save_export(Path(json.loads(Path(args[3]).read_text())["out_dir"]), self.scenes, TRUTH)
        return done


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "work")
    for rid in ("cpu-2.6.2", "cpu-3.3.1"):
        write_json_atomic(ws.state_file(rid), {"id": rid, "state": "ready", "fingerprint": {"p": rid}})
    return ws


def export_with(ws: Workspace, scenes: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    matrix: Matrix = parse_matrix(MATRIX)
    export_runtime(RunContext(matrix, GarbageBackend(scenes), ws), matrix.runtimes[0])  # type: ignore[arg-type]
    record: dict[str, Any] = read_json(ws.export_dir("cpu-2.6.2", "ppyoloe_tiny", "fullgraph_on-legacy") / "export.json")
    return record


def test_a_garbage_reference_fails_the_export_at_the_reference_stage(ws: Workspace) -> None:
    scenes = good()
    scenes[0]["output_0"][:, 2:] = 1e36
    record = export_with(ws, scenes)
    assert record["status"] == "export_failed" and record["stage"] == "reference"
    assert record["error"].startswith("3 reference boxes lie outside their image")
    assert record["reference_check"]["boxes_outside"] == 3
    cell = settle(ws, CellKey("cpu-2.6.2", "ppyoloe_tiny", "fullgraph_on-legacy", "cpu-3.3.1", "predictor"))
    assert cell is not None and cell.status is Status.EXPORT_FAILED and cell.stage is Stage.REFERENCE
    assert cell.error == record["error"] and cell.details["export_reference_check"]["boxes_outside"] == 3


def test_the_models_own_floor_from_matrix_yaml_is_applied(ws: Workspace) -> None:
    scenes = good()
    scenes[0]["output_0"][:, 1] = 0.1  # 3 of 5 objects no longer confident: 0.4 < 0.6
    record = export_with(ws, scenes)
    assert record["status"] == "export_failed" and record["stage"] == "reference"
    assert record["error"].endswith("below the floor 0.6") and record["reference_check"]["floor"]["recall"] == 0.6


def test_a_sane_reference_keeps_the_export_ok_with_its_numbers(ws: Workspace) -> None:
    record = export_with(ws, good())
    assert record["status"] == "ok" and record["reference_check"]["recall"] == 1.0
    assert settle(ws, CellKey("cpu-2.6.2", "ppyoloe_tiny", "fullgraph_on-legacy", "cpu-3.3.1", "predictor")) is None


def test_a_new_floor_rechecks_the_exports_without_retraining(ws: Workspace) -> None:
    matrix = parse_matrix(MATRIX)
    backend = GarbageBackend(good())
    export_runtime(RunContext(matrix, backend, ws), matrix.runtimes[0])  # type: ignore[arg-type]
    stricter = parse_matrix(MATRIX.replace("recall: 0.6", "recall: 0.9"))
    ran = len(backend.runs)
    export_runtime(RunContext(stricter, backend, ws), stricter.runtimes[0])  # type: ignore[arg-type]
    assert [run for run, _ in backend.runs[ran:]] == ["export ppyoloe_tiny tiny"]
