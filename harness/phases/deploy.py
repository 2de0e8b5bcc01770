"""Deployment consumers' cells (Paddle-Lite, paddle2onnx + ONNX Runtime): the task their
worker runs (harness/inside/deploy.py) and its reply as the cell's Result.

Stages convert -> load -> run. The converted model is kept in
work/artifacts/<consumer>/<producer>/<model>/<mode>/<loader>/ with the tool's logs; the
cell records its size and sha256, the tool's version, its exact command line and the calls
made, and two commands that redo the conversion and the whole cell. Outputs are judged on
the host against the producer's reference exactly as a Paddle cell's are (judge.judged).

A converter that ends its process by SIGABRT after saying why (Paddle-Lite's optimizer
reports every model it cannot convert that way, paddle2onnx its C++ errors) is
`convert_failed` with the tool's own line; any other death is a `crash` at its stage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
from pathlib import Path
from typing import Any

from harness.config.deployments import DeployLoader, Deployment
from harness.config.matrix import Matrix
from harness.document.cell import CellKey, Result, Stage, Status, clip, first_line
from harness.phases.accuracy import eval_feeds
from harness.phases.judge import judged
from harness.runtimes.worker_client import Outcome
from harness.store.exports import read_export
from harness.store.layout import Workspace

CONVERT_ONLY = ["convert"]
_FAILED_AT = {Stage.CONVERT: Status.CONVERT_FAILED, Stage.LOAD: Status.LOAD_FAILED, Stage.RUN: Status.RUN_FAILED}
# What a reply says about the conversion and the run, kept as the cell's evidence.
_EVIDENCE = (
    "tool_version",
    "option",
    "program_format",
    "program_ops",
    "convert_flags",
    "convert_calls",
    "load_calls",
    "onnx_opsets",
    "convert_s",
    "load_s",
    "run_s",
    "host_arch",
)


def deploy_task(ws: Workspace, dep: Deployment, loader: DeployLoader, key: CellKey, out: Path) -> dict[str, Any]:
    """The deployment worker's task for one cell: convert the export in ``out`` with the
    loader's target or opset into the cell's artifact directory, then load and run it."""
    record = read_export(out) or {}
    task: dict[str, Any] = {
        "id": key.slug,
        "tool": dep.tool,
        "program": str(out / str(record.get("program_file", "model.json"))),
        "params": str(out / "model.pdiparams"),
        "input": str(out / "input.npz"),
        **eval_feeds(out),
        "out_dir": str(ws.artifact_dir(key.consumer, key.producer, key.model, key.export, key.loader)),
    }
    task.update({"target": loader.target} if dep.tool == "lite" else {"opset": loader.opset})
    return task


def convert_only(task: dict[str, Any]) -> dict[str, Any]:
    """The same task stopping after the conversion (what `reproduce_convert` runs)."""
    return {**task, "stages": CONVERT_ONLY}


def deploy_result(
    matrix: Matrix, key: CellKey, loader: DeployLoader, outcome: Outcome, commands: tuple[str, str], reference: Path
) -> Result:
    """A deployment worker's outcome as the cell's Result; ``commands``: (convert, whole cell)."""
    details: dict[str, Any] = {"reproduce_convert": commands[0], "reproduce": commands[1]}
    if outcome.kind == "infra":
        error = outcome.reply["error"]
        return Result.for_cell(key, Status.INFRA_ERROR, error=first_line(error), log=error, details=details)
    reply = outcome.reply
    details.update(evidence(reply, loader))
    duration = round(outcome.seconds, 3)
    if outcome.kind == "done" and reply.get("ok"):
        result = judged(matrix, key, reply, details, duration, reference, converted=True)
        if result.status is Status.PASS:
            return result
        return dataclasses.replace(result, log=_log(reply, outcome))
    stage = Stage(reply.get("stage") or "load")
    status, error = failure(matrix, outcome, stage, details)
    log = _log(reply, outcome)
    return Result.for_cell(key, status, stage=stage, error=error, log=log, details=details, duration_s=duration)


def failure(matrix: Matrix, outcome: Outcome, stage: Stage, details: dict[str, Any]) -> tuple[Status, str]:
    """The status and error of a cell that did not get as far as a comparison."""
    reply = outcome.reply
    said = str(reply.get("error", ""))
    if outcome.kind == "timeout":
        return Status.TIMEOUT, f"no answer within {matrix.timeouts.cell_s:g} s (the {stage.value} stage was killed)"
    if outcome.kind == "crash":
        details["signal"] = outcome.signal
        if stage is Stage.CONVERT and outcome.signal == "SIGABRT" and said:
            return Status.CONVERT_FAILED, said  # the tool's way of refusing a model
        return Status.CRASH, f"the {stage.value} process died by {outcome.signal}" + (f": {said}" if said else "")
    if reply.get("scene"):
        details["failed_scene"] = reply["scene"]
    return _FAILED_AT.get(stage, Status.RUN_FAILED), said


def _log(reply: dict[str, Any], outcome: Outcome) -> str:
    return clip(str(reply.get("log", "")) + "\n--- worker stderr ---\n" + outcome.log)


def evidence(reply: dict[str, Any], loader: DeployLoader) -> dict[str, Any]:
    """The conversion's evidence: the tool, its exact command line, the converted file (size
    and sha256, computed here from the file itself), the timings."""
    found = {k: reply[k] for k in _EVIDENCE if reply.get(k) is not None}
    found["deploy_tool"] = loader.tool
    found.update({"valid_targets": loader.target} if loader.tool == "lite" else {"opset": loader.opset})
    artifact = Path(str(reply.get("artifact") or ""))
    if reply.get("artifact") and artifact.is_file():
        data = artifact.read_bytes()
        found["artifact"] = {
            "file": artifact.name,
            "path": str(artifact),
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    arch = str(reply.get("host_arch") or platform.machine())
    if loader.tool == "lite" and "arm" in loader.target.split(",") and not arch.startswith(("arm", "aarch")):
        found["note"] = (
            f"valid_targets={loader.target}: what it converts is run on this {arch} host by Paddle-Lite's "
            f"{arch} wheel, as a user here would; that wheel has no arm kernels"
        )
    return found
