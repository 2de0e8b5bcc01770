"""Judge phase: a worker's outcome for one cell becomes that cell's Result. Outputs are
compared on the host with the producer's reference (harness.phases.verdict)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.config.matrix import Matrix
from harness.document.cell import CellKey, Result, Stage, Status, clip, first_line
from harness.phases.export import crash_line
from harness.phases.verdict import judge
from harness.runtimes.worker_client import Outcome


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


def decode_outputs(reply: dict[str, Any]) -> list[np.ndarray]:
    return [np.asarray(o["data"], dtype=o["dtype"]).reshape(o["shape"]) for o in reply["outputs"]]


def judged(
    matrix: Matrix, key: CellKey, reply: dict[str, Any], details: dict[str, Any], duration: float, reference: Path
) -> Result:
    with np.load(reference) as ref:
        expected = [ref[f"output_{i}"] for i in range(len(ref.files))]
    verdict = judge(expected, decode_outputs(reply), matrix.tolerances)
    details.update(verdict.details)
    details["output_shapes"] = [o["shape"] for o in reply["outputs"]]
    return Result.for_cell(
        key,
        verdict.status,
        stage=Stage.COMPARE if verdict.status is Status.MISMATCH else None,
        error=verdict.error,
        max_abs_diff=verdict.max_abs_diff,
        details=details,
        duration_s=duration,
    )
