"""Assemble reports/results.json from the workspace, then render every output from it.

Every planned cell appears exactly once: results recorded by the load phases, and for
cells nobody recorded, an infra_error that says which phase is missing. Expectations,
transitions against the previous run, the trend and the "where does it load" view are
all derived here, so the renderers only read results.json.
"""

from __future__ import annotations

import collections
import datetime
import hashlib
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness import expectations, history
from harness.config import Matrix
from harness.outputs import write_junit, write_markdown
from harness.plan import Workspace, planned_cells
from harness.report_html import write_html
from harness.runner import runtime_state, settle_without_running
from harness.status import RESULT_SCHEMA_VERSION, CellKey, Result, Stage, Status
from harness.store import read_json, read_results, write_json_atomic

TREND_RUNS = 14
INFRA_STATES = ("unavailable", "not_built")


def collect(matrix: Matrix, ws: Workspace, today: datetime.date | None = None) -> dict[str, Any]:
    recorded = read_results(ws.results_dir)
    cells = [(recorded.get(key) or _unrecorded(matrix, ws, key)).to_json() for key in planned_cells(matrix)]
    for cell in cells:
        _attach_diagnosis(ws, cell)
        cell["details"]["repro"] = repro_command(cell)
    stale = expectations.apply(cells, matrix.expectations, today or datetime.date.today())
    runtimes = [_runtime_entry(ws, rt.id, asdict(rt)) for rt in matrix.runtimes]
    # The backend that built the runtimes, as recorded by the build phase.
    backends = sorted({r["backend"] for r in runtimes if r.get("backend")})
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "run": {"id": run_id(ws), "previous_id": None},
        "matrix": matrix.source,
        "backend": ", ".join(backends) or "none",
        "runtimes": runtimes,
        "models": [m.id for m in matrix.models],
        "export_modes": [asdict(e) for e in matrix.export_modes],
        "loaders": [asdict(ld) for ld in matrix.loaders],
        "tolerances": asdict(matrix.tolerances),
        "summary": dict(sorted(collections.Counter(c["shown_as"] for c in cells).items())),
        "stale_expectations": stale,
        "infra": _infra(runtimes, cells),
        "exports": _exports(matrix, ws),
        "compat_ranges": compat_ranges(matrix, runtimes, cells),
        "transitions": {"previous_run": None, "newly_broken": 0, "newly_fixed": 0, "changed": 0},
        "trend": {},
        "cells": cells,
    }


def repro_command(cell: dict[str, Any]) -> str:
    """The one command that reproduces this cell from scratch on a contributor's machine."""
    pair = f"{cell['producer']} {cell['consumer']}"
    return f"nox -s repro -- {pair} --model {cell['model']} --export {cell['export']} --loader {cell['loader']}"


def _attach_diagnosis(ws: Workspace, cell: dict[str, Any]) -> None:
    """Workarounds tried by `diagnose` on this cell, shown next to it."""
    path = ws.root / "diagnoses" / f"{history.slug(cell)}.json"
    if path.exists():
        record = read_json(path)
        cell["workarounds"], cell["fixed_by"] = record["workarounds"], record["fixes"]


def _unrecorded(matrix: Matrix, ws: Workspace, key: CellKey) -> Result:
    """A cell no load phase recorded: settled from the runtime states and exports where
    they decide it (an unbuildable runtime needs no load job), else an infra_error."""
    return settle_without_running(matrix, ws, key) or Result.for_cell(
        key,
        Status.INFRA_ERROR,
        stage=Stage.LOAD,
        error=f"no result recorded: the load phase for {key.consumer} did not run or was interrupted",
    )


def run_id(ws: Workspace) -> str:
    """Content-derived, so rebuilding a report from the same results is the same run."""
    digest = hashlib.sha256()
    sources = sorted(ws.results_dir.glob("*.jsonl")) + sorted((ws.root / "runtimes").glob("*/state.json"))
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    stamp = datetime.datetime.fromtimestamp(newest, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{digest.hexdigest()[:8]}"


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


def _infra(runtimes: list[dict[str, Any]], cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Infrastructure problems, kept apart from incompatibilities."""
    problems = [
        {"runtime": r["id"], "state": r["state"], "reason": r["reason"]} for r in runtimes if r["state"] in INFRA_STATES
    ]
    return {"runtimes": problems, "infra_error_cells": sum(c["status"] == Status.INFRA_ERROR.value for c in cells)}


def _exports(matrix: Matrix, ws: Workspace) -> list[dict[str, Any]]:
    """The export fingerprint of every export present: what the detail view shows."""
    keep = (
        "status",
        "error",
        "program_format",
        "program_file",
        "files",
        "to_static_kwargs",
        "static_function",
        "paddle_version",
        "pir_api",
        "warnings",
    )
    found = []
    for rt in matrix.runtimes:
        for model in matrix.models:
            for mode in matrix.export_modes:
                out = ws.export_dir(rt.id, model.id, mode.id)
                if not (out / "export.json").exists():
                    continue
                record = read_json(out / "export.json")
                entry = {"producer": rt.id, "model": model.id, "export": mode.id, **{k: record.get(k) for k in keep}}
                params = out / "model.pdiparams"
                entry["params_sha256"] = hashlib.sha256(params.read_bytes()).hexdigest() if params.exists() else None
                found.append(entry)
    return found


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


def compat_ranges(matrix: Matrix, runtimes: list[dict[str, Any]], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each producer and export mode: the consumers where every model passed with at
    least one loader, and the oldest and newest of them (by Paddle version)."""
    order = sorted(runtimes, key=lambda r: version_key(r["version"]))
    ready = [r["id"] for r in order if r["state"] == "ready"]
    passed = {(c["producer"], c["export"], c["consumer"], c["model"]) for c in cells if c["status"] == "pass"}
    # Why a mode loads nowhere matters: never exported is not the same as unloadable.
    export_failures: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for c in cells:
        if c["stage"] == Stage.EXPORT.value:
            export_failures[(c["producer"], c["export"])].add(c["status"])
    ranges = []
    for producer in ready:
        for mode in matrix.export_modes:
            loads_in = [c for c in ready if all((producer, mode.id, c, m.id) in passed for m in matrix.models)]
            ranges.append(
                {
                    "producer": producer,
                    "export": mode.id,
                    "loads_in": loads_in,
                    "oldest": loads_in[0] if loads_in else None,
                    "newest": loads_in[-1] if loads_in else None,
                    "not_tested": [r["id"] for r in order if r["state"] != "ready"],
                    "export_status": ", ".join(sorted(export_failures[(producer, mode.id)])) or "ok",
                }
            )
    return ranges


def add_history(results: dict[str, Any], store: history.History, drift: float) -> None:
    """Mark transitions against the previous run of the same matrix, record this run, add the trend."""
    before = store.previous(results["matrix"], results["run"]["id"])
    counts: collections.Counter[str] = collections.Counter()
    for cell in results["cells"]:
        prev = before["cells"].get(history.slug(cell)) if before else None
        change = history.transition(cell, prev, drift)
        if change and prev is not None:
            cell["transition"] = change
            cell["previous"] = {k: prev[k] for k in ("status", "shown_as", "max_abs_diff", "error")}
            counts[change] += 1
    if before:
        results["run"]["previous_id"] = before["id"]
        results["transitions"] = {
            "previous_run": {"id": before["id"], "generated_at": before["generated_at"]},
            **{k: counts[k] for k in ("newly_broken", "newly_fixed", "changed")},
        }
    store.record(results)
    results["trend"] = store.trend(results["matrix"], TREND_RUNS)


def write_reports(matrix: Matrix, ws: Workspace, out_dir: Path, history_path: Path | None = None) -> dict[str, Any]:
    """results.json, index.html, junit.xml and summary.md in out_dir; history unless None."""
    results = collect(matrix, ws)
    if history_path is not None:
        add_history(results, history.History(history_path), matrix.tolerances.score_atol)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "results.json", results)
    write_html(results, out_dir / "index.html")
    write_junit(results, out_dir / "junit.xml")
    write_markdown(results, out_dir / "summary.md")
    return results
