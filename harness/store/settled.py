"""Cells decided by what the work directory already says, without running anything:
a runtime that is not ready, an export that is missing or failed."""

from __future__ import annotations

from typing import Any

from harness.document.cell import CellKey, Result, Stage, Status, first_line
from harness.store.exports import read_export
from harness.store.layout import Workspace
from harness.store.state import RuntimeState, read_state

# An export record's status as the status of every cell that would load it.
EXPORT_STATUS = {
    "export_failed": Status.EXPORT_FAILED,
    "not_applicable": Status.NOT_APPLICABLE,
    "crash": Status.CRASH,
    "timeout": Status.TIMEOUT,
}
_RUNTIME_STATUS = {RuntimeState.SKIPPED: Status.SKIPPED, RuntimeState.NOT_BUILT: Status.INFRA_ERROR}

# What a failed cell keeps of its export record as evidence (ppdet_version: ppdet models only).
_EXPORT_EVIDENCE = (
    "program_format",
    "to_static_kwargs",
    "static_function",
    "files",
    "warnings",
    "paddle_version",
    "ppdet_version",
    "reference_check",
)


def settle(ws: Workspace, key: CellKey) -> Result | None:
    """The verdict of a cell that cannot run: a runtime is missing or the export is."""
    for role, rt_id in (("producer", key.producer), ("consumer", key.consumer)):
        state = read_state(ws, rt_id)
        if not state.ready:
            status = _RUNTIME_STATUS.get(state.state, Status.UNAVAILABLE)
            error = f"{role} {rt_id} {state.state.value}: {first_line(state.reason)}"
            return Result.for_cell(key, status, stage=Stage.BUILD, error=error, log=state.reason)
    record = read_export(ws.export_dir(key.producer, key.model, key.export))
    if record is None:
        return Result.for_cell(
            key,
            Status.INFRA_ERROR,
            stage=Stage.EXPORT,
            error=f"no export from {key.producer}: run the export phase for it first",
        )
    if record["status"] != "ok":
        return Result.for_cell(
            key,
            EXPORT_STATUS.get(record["status"], Status.EXPORT_FAILED),
            stage=Stage.REFERENCE if record.get("stage") == "reference" else Stage.EXPORT,
            error=record.get("error", ""),
            log=record.get("log", "") or record.get("stderr", ""),
            details=export_details(record),
        )
    return None


def export_details(record: dict[str, Any]) -> dict[str, Any]:
    details = {f"export_{k}": record[k] for k in _EXPORT_EVIDENCE if record.get(k)}
    if record.get("command"):  # the export is where it failed: rerunning it reproduces the cell
        details["reproduce"] = record["command"]
    return details
