"""Build the results document: `assemble` is the one place a ResultsDocument is constructed.

`collect` reads the work directory for the matrix report: every planned cell appears
exactly once, as recorded by the load phases or, for cells nobody recorded, settled from
the runtime states and exports or an infra_error naming the phase that is missing. A
`check` report (a user's export loaded in every runtime) calls `assemble` directly.
Expectations, the summary, infrastructure and the "where does it load" ranges are derived
in `assemble`; history is added by `harness.report.publish`.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.config.deployments import Buildable, Deployment
from harness.config.matrix import ExportMode, Matrix
from harness.config.plan import planned_cells
from harness.console import console
from harness.document.cell import RESULT_SCHEMA_VERSION, CellKey, Result, Stage, Status
from harness.document.results import (
    Cell,
    DocumentError,
    ExportEntry,
    ExportModeEntry,
    Fields,
    Fingerprint,
    Infra,
    LoaderEntry,
    ResultsDocument,
    RunInfo,
    RuntimeEntry,
    Tolerances,
    Transitions,
    Workaround,
    count_shown,
)
from harness.report import expectations
from harness.report.compat import compat_ranges
from harness.store.exports import RECORD, read_export
from harness.store.files import CorruptState, read_json_object
from harness.store.layout import Workspace
from harness.store.results import read_results
from harness.store.settled import settle
from harness.store.state import RuntimeRecord, read_state

PARAMS = "model.pdiparams"


@dataclass(frozen=True)
class Diagnosis:
    """What `diagnose` tried on a cell (work/diagnoses/<cell>.json) and which turned it green."""

    workarounds: list[Workaround]
    fixed_by: list[str]


def assemble(
    *,
    matrix: Matrix,
    runtimes: Sequence[RuntimeEntry],
    cells: Sequence[Result],
    exports: Sequence[ExportEntry],
    backend: str,
    run_id: str,
    check: Mapping[str, Any] | None = None,
    today: datetime.date | None = None,
    models: Sequence[str] | None = None,
    export_modes: Sequence[ExportModeEntry] | None = None,
    diagnoses: Mapping[CellKey, Diagnosis] | None = None,
) -> ResultsDocument:
    """The results document of these cells. ``models`` and ``export_modes`` default to the
    matrix's; a check report passes its one model and program format. The matrix's
    expectations are applied to a matrix report only: they name the matrix's own exports."""
    found = diagnoses or {}
    judged = [_with_diagnosis(Cell.from_result(r), found.get(r.key)) for r in cells]
    rules = () if check is not None else matrix.expectations
    shown, stale = expectations.apply(judged, rules, today or datetime.date.today())
    model_ids = list(models) if models is not None else [m.id for m in matrix.models]
    modes = list(export_modes) if export_modes is not None else [mode_entry(m) for m in matrix.export_modes]
    return ResultsDocument(
        schema_version=RESULT_SCHEMA_VERSION,
        generated_at=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        run=RunInfo(run_id),
        matrix=matrix.source,
        backend=backend,
        runtimes=list(runtimes),
        models=model_ids,
        export_modes=modes,
        loaders=loader_entries(matrix, deployments=check is None),  # a check loads in Paddle runtimes only
        tolerances=Tolerances(**{k: getattr(matrix.tolerances, k) for k in Tolerances.NAMES}),
        summary=count_shown(shown),
        stale_expectations=stale,
        infra=Infra.of(runtimes, shown),
        exports=list(exports),
        compat_ranges=compat_ranges(runtimes, model_ids, [m.id for m in modes], shown),
        transitions=Transitions(),
        trend={},
        cells=shown,
        check=dict(check) if check is not None else None,
    )


def loader_entries(matrix: Matrix, deployments: bool = True) -> list[LoaderEntry]:
    """The Paddle loaders, then each deployment loader (a Lite target, an ONNX opset) once."""
    entries = [
        LoaderEntry(ld.id, ld.api, ld.onednn, ld.ir_optim, device=ld.device, tensorrt=ld.tensorrt,
                    precision=ld.precision)
        for ld in matrix.loaders
    ]
    deployed = {ld.id: ld for dep in matrix.deployments for ld in dep.loaders} if deployments else {}
    for ld in deployed.values():
        entries.append(LoaderEntry(ld.id, ld.tool, valid_targets=ld.target, opset=ld.opset if ld.opset else None))
    return entries


def _with_diagnosis(cell: Cell, diagnosis: Diagnosis | None) -> Cell:
    if diagnosis is None:
        return cell
    return replace(cell, workarounds=list(diagnosis.workarounds), fixed_by=list(diagnosis.fixed_by))


def mode_entry(mode: ExportMode) -> ExportModeEntry:
    """A matrix export mode as the document lists it."""
    return ExportModeEntry(mode.id, mode.program_format, mode.full_graph, mode.read_main_program, mode.precision)


# ---------------------------------------------------------------- the matrix report


def collect(matrix: Matrix, ws: Workspace, today: datetime.date | None = None) -> ResultsDocument:
    recorded = read_results(ws.results_dir)
    for problem in recorded.problems:
        console.warn(problem)
    keys = planned_cells(matrix)
    results = [recorded.cells.get(key) or unrecorded(ws, key) for key in keys]
    consumers: list[Buildable] = [*matrix.runtimes, *matrix.deployments]
    runtimes = [_runtime(ws, rt) for rt in consumers]
    return assemble(
        matrix=matrix,
        runtimes=runtimes,
        cells=results,
        exports=read_exports(matrix, ws),
        backend=", ".join(sorted({r.backend for r in runtimes if r.backend})) or "none",
        run_id=run_id(ws),
        today=today,
        diagnoses=read_diagnoses(ws, keys),
    )


def unrecorded(ws: Workspace, key: CellKey) -> Result:
    """A cell no load phase recorded: settled from the runtime states and exports where
    they decide it (an unbuildable runtime needs no load job), else an infra_error."""
    return settle(ws, key) or Result.for_cell(
        key,
        Status.INFRA_ERROR,
        stage=Stage.LOAD,
        error=f"no result recorded: the load phase for {key.consumer} did not run or was interrupted",
    )


def repro_command(key: CellKey) -> str:
    """The one command that reproduces this cell from scratch on a contributor's machine."""
    pair = f"{key.producer} {key.consumer}"
    return f"nox -s repro -- {pair} --model {key.model} --export {key.export} --loader {key.loader}"


def run_id(ws: Workspace) -> str:
    """Content-derived, so rebuilding a report from the same results is the same run."""
    digest = hashlib.sha256()
    sources = sorted(ws.results_dir.glob("*.jsonl")) + sorted((ws.root / "runtimes").glob("*/state.json"))
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    stamp = datetime.datetime.fromtimestamp(newest, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{digest.hexdigest()[:8]}"


def _runtime(ws: Workspace, rt: Buildable) -> RuntimeEntry:
    record = read_state(ws, rt.id)
    try:
        return runtime_entry(rt, record, str(ws.state_file(rt.id)))
    except DocumentError as exc:
        console.warn(f"{exc.message}; the report shows runtime {rt.id} without its fingerprint")
        return runtime_entry(rt, replace(record, fingerprint=None))


def runtime_entry(rt: Buildable, record: RuntimeRecord, source: str = "state.json") -> RuntimeEntry:
    """A declared runtime (or deployment consumer) and its recorded state; ``source`` names
    the state file in errors."""
    fingerprint = Fingerprint.from_json(record.fingerprint, source) if record.fingerprint is not None else None
    pins, tool = (list(rt.packages), rt.tool) if isinstance(rt, Deployment) else (list(rt.pins), "")
    return RuntimeEntry(
        id=rt.id,
        version=rt.version,
        state=record.state,
        package=rt.package,
        device=rt.device,
        python=rt.python,
        index_url=rt.index_url,
        pins=pins,
        note=rt.note,
        base_image=rt.base_image,
        reason=record.reason,
        fingerprint=fingerprint,
        backend=record.backend,
        tool=tool,
        image_size=record.image_size,
        image_build_s=record.image_build_s,
    )


def export_entry(producer: str, model: str, mode: str, record: Mapping[str, Any], directory: Path) -> ExportEntry:
    """An export record (export.json) as the document lists it, with the hash of its params."""
    recorded = ExportEntry.TEXTS + ("files", "to_static_kwargs", "pir_api", "warnings", "precision", "quantization")
    keep = {k: record.get(k) for k in recorded}
    data = {**keep, "producer": producer, "model": model, "export": mode, "status": record.get("status")}
    params = directory / PARAMS
    data["params_sha256"] = hashlib.sha256(params.read_bytes()).hexdigest() if params.exists() else None
    return ExportEntry.from_json(data, str(directory / RECORD))


def read_exports(matrix: Matrix, ws: Workspace) -> list[ExportEntry]:
    """The record of every export present: what the detail view shows as its fingerprint."""
    found = []
    for rt in matrix.runtimes:
        for model in matrix.models:
            for mode in matrix.export_modes:
                out = ws.export_dir(rt.id, model.id, mode.id)
                record = read_export(out)
                if record is None:
                    continue
                try:
                    found.append(export_entry(rt.id, model.id, mode.id, record, out))
                except DocumentError as exc:
                    console.warn(f"{exc.message}; the report shows this export without its record")
    return found


def read_diagnoses(ws: Workspace, keys: Sequence[CellKey]) -> dict[CellKey, Diagnosis]:
    """Workarounds tried by `diagnose`, by cell; an unreadable record is named and skipped."""
    found = {}
    present = {p.name for p in (ws.root / "diagnoses").glob("*.json")}  # one listing, not a stat per cell
    for key in keys:
        path = ws.root / "diagnoses" / f"{key.slug}.json"
        if path.name not in present:
            continue
        try:
            f = Fields(read_json_object(path), str(path))
            found[key] = Diagnosis(f.children("workarounds", Workaround.read, required=True), f.texts("fixes"))
        except (CorruptState, DocumentError) as exc:
            console.warn(f"{exc.message}; the report shows cell {key.slug} without its diagnosis")
    return found
