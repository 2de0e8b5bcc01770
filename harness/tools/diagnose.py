"""Try the known workarounds on a failing cell and say which ones turn it green.

A workaround is data: a change to how the cell's model is exported (program format,
full_graph, which runtime exports it) or loaded (loader options); for a deployment consumer,
how it is converted (a single valid target x86 for Paddle-Lite, another opset for
paddle2onnx) or a legacy-format re-export for a converter that cannot read PIR. Each is
exported with the same machinery as the matrix (cached by content) and judged against the
producer's own reference, so "it works" means the same boxes as where it was trained.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from harness.config.deployments import DeployLoader, Deployment
from harness.config.matrix import ExportMode, Loader, Matrix, unknown_id_message
from harness.console import console
from harness.document.cell import FAILURES, CellKey, Result, Status
from harness.errors import ConfigError, HarnessError
from harness.phases.context import RunContext
from harness.phases.deploy import convert_only, deploy_result, deploy_task
from harness.phases.export import export_one, train_model
from harness.phases.judge import to_result
from harness.phases.load import reproduce_command, task_for
from harness.runtimes import inside_code
from harness.runtimes.worker_client import Worker, WorkerStartError
from harness.store.exports import read_export
from harness.store.files import digest, write_json_atomic
from harness.store.layout import Workspace
from harness.store.results import read_results
from harness.store.settled import EXPORT_STATUS


@dataclass(frozen=True)
class Variant:
    """One workaround applied to one cell: what to export where, and how to load it."""

    name: str
    mode: ExportMode
    loader: Loader | DeployLoader
    exporter: str  # the runtime that exports (the producer, or the consumer for "train high, export low")
    weights_from: str = ""


Workaround = Callable[[CellKey, ExportMode, Any, dict[str, Any]], "Variant | None"]
ALTERNATIVE_OPSETS = (11, 13, 16)  # what paddle2onnx is tried at instead of a failing opset


def _legacy(key: CellKey, mode: ExportMode, loader: Any, caps: dict[str, Any]) -> Variant | None:
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


def _single_x86(key: CellKey, mode: ExportMode, loader: DeployLoader, caps: dict[str, Any]) -> Variant | None:
    if loader.tool != "lite" or loader.target == "x86":
        return None
    x86 = DeployLoader("lite-x86", "lite", target="x86")
    return Variant("convert for the single valid target x86 (--valid_targets=x86)", mode, x86, key.producer)


def _other_opsets(key: CellKey, mode: ExportMode, loader: DeployLoader, caps: dict[str, Any]) -> list[Variant]:
    if loader.tool != "onnx":
        return []
    opsets = [DeployLoader(f"onnx-opset{o}", "onnx", opset=o) for o in ALTERNATIVE_OPSETS if o != loader.opset]
    return [Variant(f"convert at opset {o.opset} instead ({o.option})", mode, o, key.producer) for o in opsets]


def deploy_variants(key: CellKey, mode: ExportMode, loader: DeployLoader) -> list[Variant]:
    """A deployment consumer's workarounds: re-export in the legacy format (a converter that
    cannot read PIR), one valid target x86 (Lite), another opset (paddle2onnx)."""
    found = [v for w in (_legacy, _single_x86) if (v := w(key, mode, loader, {})) is not None]
    return found + _other_opsets(key, mode, loader, {})


class NothingToDiagnose(HarnessError):
    """The cells named are not failing: there is nothing to try a workaround on."""

    exit_code = 0


def parse_cell(slug: str, matrix: Matrix) -> CellKey:
    """A cell id from results.json, every part checked against the matrix."""
    parts = slug.split("__")
    if len(parts) != 5:
        raise ConfigError("diagnose", [f"{slug!r} is not a cell id: producer__model__export__consumer__loader"])
    key = CellKey(*parts)
    dep = matrix.deployment(key.consumer)
    known = {
        "producer runtime": (key.producer, matrix.runtime_ids),
        "model": (key.model, [m.id for m in matrix.models]),
        "export mode": (key.export, [e.id for e in matrix.export_modes]),
        "consumer runtime": (key.consumer, matrix.consumer_ids),
        "loader": (key.loader, [ld.id for ld in (dep.loaders if dep else matrix.loaders)]),
    }
    problems = [unknown_id_message(kind, given, ids) for kind, (given, ids) in known.items() if given not in ids]
    if problems:
        raise ConfigError(f"diagnose {slug}", problems)
    return key


def failing_only(ws: Workspace, keys: list[CellKey]) -> list[CellKey]:
    """The keys whose recorded result is a failure; the others are named and left alone."""
    recorded = read_results(ws.results_dir).cells
    failing, other = [], []
    for key in keys:
        result = recorded.get(key)
        if result is not None and result.status in FAILURES:
            failing.append(key)
        else:
            other.append(f"{key.slug}: {result.status.value if result else 'no result recorded'}")
    for line in other:
        console.say(f"[diagnose] nothing to diagnose for {line} (only failing cells are)")
    if keys and not failing:
        raise NothingToDiagnose("none of the named cells is failing, so there is nothing to diagnose")
    return failing


def diagnose(ctx: RunContext, key: CellKey) -> dict[str, Any]:
    """Run every applicable workaround for the cell; write work/diagnoses/<cell>.json."""
    matrix, ws = ctx.matrix, ctx.ws
    mode = next(m for m in matrix.export_modes if m.id == key.export)
    consumer = matrix.consumer(key.consumer)
    if isinstance(consumer, Deployment):
        variants = deploy_variants(key, mode, consumer.loader(key.loader))
    else:
        caps = (ctx.state(key.consumer).fingerprint or {}).get("capabilities", {})
        variants = [v for w in WORKAROUNDS if (v := w(key, mode, ctx.loader(key.loader), caps)) is not None]
    reference = ws.export_dir(key.producer, key.model, key.export) / "reference.npz"
    tried = []
    log = ws.logs_dir / f"diagnose-{consumer.id}.log"
    with Worker(ctx.backend, consumer, log, matrix.timeouts.worker_start_s) as w:
        for variant in variants:
            result = _try(ctx, key, variant, reference, w)
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
            console.say(f"[diagnose {key.slug}] {variant.name}: {result.status.value}")
    record = {
        "cell": key.slug,
        "workarounds": tried,
        "fixes": [t["workaround"] for t in tried if t["status"] == "pass"],
    }
    write_json_atomic(ws.root / "diagnoses" / f"{key.slug}.json", record)
    return record


def _try(ctx: RunContext, key: CellKey, v: Variant, reference: Any, worker: Worker) -> Result:
    matrix = ctx.matrix
    exporter = matrix.runtime(v.exporter)
    model = next(m for m in matrix.models if m.id == key.model)
    base_key = digest(ctx.state(exporter.id).fingerprint, inside_code.code_hash())
    trained = train_model(ctx, matrix.runtime(v.weights_from or exporter.id), model)
    out = export_one(ctx, exporter, model, v.mode, trained, base_key, v.weights_from)
    variant_key = CellKey(v.exporter, key.model, out.name, key.consumer, v.loader.id)
    record = read_export(out) or {"status": "export_failed", "error": f"no export record in {out}"}
    if record["status"] != "ok":
        status = EXPORT_STATUS.get(record["status"], Status.EXPORT_FAILED)
        return Result.for_cell(variant_key, status, error=record.get("error", ""))
    consumer = matrix.consumer(key.consumer)
    if isinstance(v.loader, DeployLoader) and isinstance(consumer, Deployment):
        task = deploy_task(ctx.ws, consumer, v.loader, variant_key, out)
    elif isinstance(v.loader, Loader):
        task = task_for(out, v.loader, variant_key.slug)
    else:
        raise TypeError(f"{v.name}: a {type(v.loader).__name__} cannot load in {consumer.id}")
    try:
        outcome = worker.run(task, matrix.timeouts.cell_s)
    except WorkerStartError as exc:
        return Result.for_cell(variant_key, Status.INFRA_ERROR, error=str(exc))
    command = reproduce_command(ctx.backend, consumer, task)
    if isinstance(v.loader, DeployLoader):
        commands = (reproduce_command(ctx.backend, consumer, convert_only(task)), command)
        return deploy_result(matrix, variant_key, v.loader, outcome, commands, reference)
    return to_result(matrix, variant_key, outcome, command, reference)


def red_cells(ws: Workspace) -> list[CellKey]:
    """Every failing cell recorded in the workspace (what `--diagnose` passes over)."""
    return [k for k, r in read_results(ws.results_dir).cells.items() if r.status in FAILURES]
