"""Try the known workarounds on a failing cell and say which ones turn it green.

A workaround is data: a change to how the cell's model is exported (program format,
full_graph, which runtime exports it) or loaded (loader options). Each is exported
with the same machinery as the matrix (cached by content) and judged against the
producer's own reference, so "it works" means the same boxes as where it was trained.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from harness import inside_code, runner
from harness.backends import Backend
from harness.config import ExportMode, Loader, Matrix
from harness.errors import ConfigError
from harness.plan import Workspace
from harness.status import FAILURES, CellKey, Result, Status
from harness.store import read_json, read_results, write_json_atomic
from harness.worker_client import Worker, WorkerStartError


@dataclass(frozen=True)
class Variant:
    """One workaround applied to one cell: what to export where, and how to load it."""

    name: str
    mode: ExportMode
    loader: Loader
    exporter: str  # the runtime that exports (the producer, or the consumer for "train high, export low")
    weights_from: str = ""


Workaround = Callable[[CellKey, ExportMode, Loader, dict[str, Any]], "Variant | None"]


def _legacy(key: CellKey, mode: ExportMode, loader: Loader, caps: dict[str, Any]) -> Variant | None:
    if mode.program_format == "legacy":
        return None
    legacy = dataclasses.replace(mode, id=f"{mode.id}~legacy", program_format="legacy")
    return Variant("re-export with the legacy program format (FLAGS_enable_pir_api=0)", legacy, loader, key.producer)


def _flip_full_graph(key: CellKey, mode: ExportMode, loader: Loader, caps: dict[str, Any]) -> Variant | None:
    flipped = dataclasses.replace(
        mode, id=f"{mode.id}~fullgraph-{'off' if mode.full_graph else 'on'}", full_graph=not mode.full_graph
    )
    return Variant(f"export with full_graph={not mode.full_graph}", flipped, loader, key.producer)


def _loader_option(option: str, text: str) -> Workaround:
    def make(key: CellKey, mode: ExportMode, loader: Loader, caps: dict[str, Any]) -> Variant | None:
        if loader.api != "predictor" or getattr(loader, option) == "off":
            return None
        changed = dataclasses.replace(loader, id=f"{loader.id}~{option}-off", **{option: "off"})
        return Variant(text, mode, changed, key.producer)

    return make


def _other_api(key: CellKey, mode: ExportMode, loader: Loader, caps: dict[str, Any]) -> Variant | None:
    other = "predictor" if loader.api == "jit_load" else "jit_load"
    swapped = Loader(id=f"{loader.id}~{other}", api=other)
    return Variant(
        f"load with {'paddle.inference' if other == 'predictor' else 'paddle.jit.load'} instead",
        mode,
        swapped,
        key.producer,
    )


def _train_high_export_low(key: CellKey, mode: ExportMode, loader: Loader, caps: dict[str, Any]) -> Variant | None:
    if key.producer == key.consumer:
        return None
    if mode.program_format == "pir" and not caps.get("pir_programs"):
        # Exported where it runs, so in the only format that runtime writes.
        mode = dataclasses.replace(mode, id=f"{mode.id}~legacy", program_format="legacy")
    return Variant(
        f"train high, export low: {key.producer}'s weights exported in {key.consumer}",
        mode,
        loader,
        key.consumer,
        weights_from=key.producer,
    )


WORKAROUNDS: tuple[Workaround, ...] = (
    _legacy,
    _flip_full_graph,
    _loader_option("ir_optim", "IR optimisation off (config.switch_ir_optim(False))"),
    _loader_option("onednn", "oneDNN off (config.disable_mkldnn())"),
    _other_api,
    _train_high_export_low,
)


def parse_cell(slug: str, matrix: Matrix) -> CellKey:
    parts = slug.split("__")
    if len(parts) != 5:
        raise ConfigError("diagnose", [f"{slug!r} is not a cell id: producer__model__export__consumer__loader"])
    return CellKey(*parts)


def diagnose(matrix: Matrix, backend: Backend, ws: Workspace, key: CellKey) -> dict[str, Any]:
    """Run every applicable workaround for the cell; write work/diagnoses/<cell>.json."""
    mode = next(m for m in matrix.export_modes if m.id == key.export)
    loader = next(ld for ld in matrix.loaders if ld.id == key.loader)
    fingerprint = runner.runtime_state(ws, key.consumer).get("fingerprint") or {}
    caps = fingerprint.get("capabilities", {})
    variants = [v for w in WORKAROUNDS if (v := w(key, mode, loader, caps)) is not None]
    reference = ws.export_dir(key.producer, key.model, key.export) / "reference.npz"
    consumer = matrix.runtime(key.consumer)
    tried = []
    with Worker(backend, consumer, ws.logs_dir / f"diagnose-{consumer.id}.log", matrix.timeouts.worker_start_s) as w:
        for variant in variants:
            result = _try(matrix, backend, ws, key, variant, reference, w)
            tried.append(
                {
                    "workaround": variant.name,
                    "status": result.status.value,
                    "error": result.error,
                    "max_abs_diff": result.max_abs_diff,
                    "export": variant.mode.id,
                    "loader": variant.loader.id,
                }
            )
            runner.say(f"[diagnose {key.slug}] {variant.name}: {result.status.value}")
    record = {
        "cell": key.slug,
        "workarounds": tried,
        "fixes": [t["workaround"] for t in tried if t["status"] == "pass"],
    }
    write_json_atomic(ws.root / "diagnoses" / f"{key.slug}.json", record)
    return record


def _try(
    matrix: Matrix, backend: Backend, ws: Workspace, key: CellKey, v: Variant, reference: Any, worker: Worker
) -> Result:
    exporter = matrix.runtime(v.exporter)
    model = next(m for m in matrix.models if m.id == key.model)
    state = runner.runtime_state(ws, exporter.id)
    base_key = runner.digest(state.get("fingerprint"), inside_code.code_hash())
    trained = runner.train_model(matrix, backend, ws, matrix.runtime(v.weights_from or exporter.id), model)
    out = runner.export_one(matrix, backend, ws, exporter, model, v.mode, trained, base_key, v.weights_from)
    variant_key = CellKey(v.exporter, key.model, out.name, key.consumer, v.loader.id)
    record = read_json(out / "export.json")
    if record["status"] != "ok":
        status = runner.EXPORT_STATUS.get(record["status"], Status.EXPORT_FAILED)
        return Result.for_cell(variant_key, status, error=record.get("error", ""))
    task = runner.task_for(out, v.loader, variant_key.slug)
    try:
        outcome = worker.run(task, matrix.timeouts.cell_s)
    except WorkerStartError as exc:
        return Result.for_cell(variant_key, Status.INFRA_ERROR, error=str(exc))
    command = runner.reproduce_command(backend, matrix.runtime(key.consumer), task)
    return runner.to_result(matrix, ws, variant_key, outcome, command, reference)


def red_cells(ws: Workspace) -> list[CellKey]:
    """Every failing cell recorded in the workspace (what `--diagnose` passes over)."""
    return [k for k, r in read_results(ws.results_dir).items() if r.status in FAILURES]
