"""Assemble reports/results.json from the workspace, then render the HTML from it.

Every planned cell appears exactly once: results recorded by the load phases, and for
cells nobody recorded, an infra_error that says which phase is missing.
"""

from __future__ import annotations

import collections
import datetime
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.config import Matrix
from harness.plan import Workspace, planned_cells
from harness.report_html import write_html
from harness.runner import runtime_state
from harness.status import RESULT_SCHEMA_VERSION, Result, Stage, Status
from harness.store import read_results, write_json_atomic


def collect(matrix: Matrix, ws: Workspace) -> dict[str, Any]:
    recorded = read_results(ws.results_dir)
    cells = [
        recorded.get(key)
        or Result.for_cell(
            key,
            Status.INFRA_ERROR,
            stage=Stage.LOAD,
            error=f"no result recorded: the load phase for {key.consumer} did not run or was interrupted",
        )
        for key in planned_cells(matrix)
    ]
    counts = collections.Counter(c.status.value for c in cells)
    runtimes = [_runtime_entry(ws, rt.id, asdict(rt)) for rt in matrix.runtimes]
    # The backend that built the runtimes, as recorded by the build phase.
    backends = sorted({r["backend"] for r in runtimes if r.get("backend")})
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "matrix": matrix.source,
        "backend": ", ".join(backends) or "none",
        "runtimes": runtimes,
        "models": [m.id for m in matrix.models],
        "export_modes": [asdict(e) for e in matrix.export_modes],
        "loaders": [asdict(ld) for ld in matrix.loaders],
        "tolerances": asdict(matrix.tolerances),
        "summary": dict(sorted(counts.items())),
        "cells": [c.to_json() for c in cells],
    }


def _runtime_entry(ws: Workspace, rt_id: str, declared: dict[str, Any]) -> dict[str, Any]:
    state = runtime_state(ws, rt_id)
    return {
        **declared,
        "pins": list(declared["pins"]),
        "state": state["state"],
        "reason": state.get("reason", ""),
        "fingerprint": state.get("fingerprint"),
        "backend": state.get("backend"),
    }


def write_reports(matrix: Matrix, ws: Workspace, out_dir: Path) -> dict[str, Any]:
    results = collect(matrix, ws)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "results.json", results)
    write_html(results, out_dir / "index.html")
    return results
