"""Judge phase: a worker's outcome for one cell becomes that cell's Result. Outputs are
compared on the host with the producer's reference (harness.phases.verdict), scene by
scene: reference.npz holds "output_i" for the first scene and "output_i@k" for scene k,
and the worker tags each output with the scene it answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.config.matrix import Matrix
from harness.document.cell import CellKey, Result, Stage, Status, clip, first_line
from harness.phases import accuracy
from harness.phases.export import crash_line
from harness.phases.verdict import judge_scenes, output_scenes, reference_scenes, scene_of
from harness.runtimes.worker_client import Outcome
from harness.store.exports import read_export


def to_result(matrix: Matrix, key: CellKey, outcome: Outcome, command: str, reference: Path) -> Result:
    """A worker outcome as a cell result; outputs are judged against ``reference`` (an .npz)."""
    details: dict[str, Any] = {"reproduce": command}
    if outcome.kind == "infra":
        error = outcome.reply["error"]
        return Result.for_cell(key, Status.INFRA_ERROR, error=first_line(error), log=error, details=details)
    duration = round(outcome.seconds, 3)
    if outcome.kind in ("crash", "timeout"):
        return _died(matrix, key, outcome, details, duration)
    reply = outcome.reply
    details.update({k: reply[k] for k in ("config_calls", "load_s", "run_s", "peak_rss_mb") if k in reply})
    if not reply["ok"]:
        if reply.get("scene"):  # scene 0 ran; a later scene (another input size, say) did not
            details["failed_scene"] = reply["scene"]
        return Result.for_cell(
            key,
            Status.LOAD_FAILED if reply["stage"] == "load" else Status.RUN_FAILED,
            stage=Stage(reply["stage"]),
            error=reply.get("error", ""),
            log=clip(reply.get("log", "") + "\n--- worker stderr ---\n" + outcome.log),
            details=details,
            duration_s=duration,
        )
    return judged(matrix, key, reply, details, duration, reference)


def _died(matrix: Matrix, key: CellKey, outcome: Outcome, details: dict[str, Any], duration: float) -> Result:
    crashed = outcome.kind == "crash"
    headline = f"the loading process died by {outcome.signal}" if crashed else (
        f"no answer within {matrix.timeouts.cell_s:g} s"
    )
    banner = crash_line(outcome.log)
    details["signal"] = outcome.signal
    return Result.for_cell(
        key,
        Status.CRASH if crashed else Status.TIMEOUT,
        stage=Stage.LOAD,
        error=f"{headline}: {banner}" if banner else headline,
        log=clip(outcome.log),
        details=details,
        duration_s=duration,
    )


def scene_labels(inputs: Path) -> list[str]:
    """"96x96" per scene: the height and width of each scene's first image-like input."""
    if not inputs.exists():
        return []
    labels: dict[int, str] = {}
    with np.load(inputs) as data:
        for name in data.files:
            _, k = scene_of(name)
            shape = data[name].shape
            if k not in labels and len(shape) == 4:
                labels[k] = f"{shape[2]}x{shape[3]}"
    return [labels.get(k, "") for k in range(max(labels, default=-1) + 1)]


def judged(
    matrix: Matrix,
    key: CellKey,
    reply: dict[str, Any],
    details: dict[str, Any],
    duration: float,
    reference: Path,
    converted: bool = False,
) -> Result:
    """The verdict of a cell that ran: its outputs against the reference, scene by scene, and
    its mAP on the evaluation set (harness.phases.accuracy), which decides instead of the
    numbers for an INT8 export, a precision loader or a converted model."""
    expected = reference_scenes(reference)
    labels = scene_labels(reference.parent / "input.npz") if len(expected) > 1 else []
    verdict = judge_scenes(expected, output_scenes(reply["outputs"]), matrix.tolerances, labels)
    details.update(verdict.details)
    details["output_shapes"] = [o["shape"] for o in reply["outputs"]]
    status, error = verdict.status, verdict.error
    measured, problem = accuracy.measure(reference.parent, reply.get("eval_outputs"))
    if problem:  # judged by the numbers alone, saying why there is no mAP
        details["accuracy_error"] = problem
    if measured is not None:
        record = read_export(reference.parent) or {}
        precisions = str(record.get("precision", "fp32")), "converted" if converted else _loader_precision(matrix, key)
        decides = accuracy.accuracy_decides(precisions[0], precisions[1], converted)
        measured.update(export_precision=precisions[0], loader_precision=precisions[1], decides=decides)
        if decides:
            details["numeric"] = {"status": status.value, "error": error}
            status, error = _by_accuracy(measured, matrix.tolerances.map_drop)
        elif status is Status.PASS:
            # Where the numbers pass, the mAP must be the reference's: a check of both verdicts.
            measured["agrees"] = abs(measured["drop"]) <= accuracy.AGREEMENT
        details["accuracy"] = measured
    stage = {Status.MISMATCH: Stage.COMPARE, Status.ACCURACY_DROP: Stage.ACCURACY}.get(status)
    return Result.for_cell(
        key,
        status,
        stage=stage,
        error=error,
        max_abs_diff=verdict.max_abs_diff,
        details=details,
        duration_s=duration,
    )


def _loader_precision(matrix: Matrix, key: CellKey) -> str:
    return next((loader.precision for loader in matrix.loaders if loader.id == key.loader), "fp32")


def _by_accuracy(measured: dict[str, Any], map_drop: float) -> tuple[Status, str]:
    if measured["drop"] <= map_drop:
        return Status.PASS, ""
    return Status.ACCURACY_DROP, (
        f"mAP@0.5 {measured['map50']:.3f} on the evaluation set is {measured['drop']:.3f} below the FP32 "
        f"reference's {measured['reference_map50']:.3f} (map_drop {map_drop:g}; chance {measured['chance_map50']:.3f})"
    )
