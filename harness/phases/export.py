"""Export phase: train each model once per runtime, then export it in every export mode,
one process per export (the program format is a flag read when paddle is imported, and a
crashing export must take only itself down)."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.config.matrix import ExportMode, Model, Runtime
from harness.console import console
from harness.document.cell import clip, first_line
from harness.phases.build import INSIDE
from harness.phases.context import RunContext
from harness.phases.extras import model_extras
from harness.phases.reference import check_export
from harness.runtimes import inside_code
from harness.runtimes.seam import Completed
from harness.store.exports import files_sha256, read_export
from harness.store.files import CorruptState, digest, read_json_object, write_json_atomic


def export_runtime(ctx: RunContext, rt: Runtime) -> None:
    state = ctx.state(rt.id)
    if not state.ready:
        console.say(f"[export {rt.id}] nothing to export: runtime is {state.state.value}")
        return
    base_key = digest(state.fingerprint, inside_code.code_hash())
    for model in ctx.matrix.models:
        trained = train_model(ctx, rt, model)
        for mode in ctx.matrix.export_modes:
            export_one(ctx, rt, model, mode, trained, base_key)


def _cached(path: Path, key: str) -> dict[str, Any] | None:
    """A record written for exactly this key; None when absent, stale or unreadable."""
    try:
        record = read_json_object(path) if path.exists() else None
    except CorruptState as exc:
        console.warn(f"{exc.message}; recomputing it")
        return None
    return record if record is not None and record.get("key") == key else None


def train_model(ctx: RunContext, rt: Runtime, model: Model) -> dict[str, Any]:
    """Train once per (runtime, model); every export mode of that pair uses these weights."""
    out = ctx.ws.model_dir(rt.id, model.id)
    # The reference floor is checked after the export: changing it re-checks, never retrains.
    trains = {k: v for k, v in asdict(model).items() if k != "reference_floor"}
    key = digest(ctx.state(rt.id).fingerprint, inside_code.code_hash(), trains)
    record_path = out / "train.result.json"
    cached = _cached(record_path, key)
    if cached is not None:
        return cached
    extras = model_extras(ctx, rt, model)
    if extras.error:  # not written down: the next run tries the install again
        return {"key": digest(key, extras.error), "ok": False, "stage": "requires", **extras.failure()}
    out.mkdir(parents=True, exist_ok=True)
    spec = {"model": model.id, "family": model.family, "steps": model.train_steps, "seed": model.seed,
            "dynamic_size": model.dynamic_size}
    write_json_atomic(out / "train.spec.json", {**spec, "out_dir": str(out)})
    (out / "train.json").unlink(missing_ok=True)  # an error it holds must be this run's
    console.say(f"[export {rt.id}] training {model.id}")
    args = [*INSIDE, "train", str(out / "train.spec.json")]
    res = ctx.backend.run(rt, args, timeout=ctx.matrix.timeouts.export_s, env=extras.env() or None)
    record = {"key": key, "ok": res.ok and (out / "weights.pdparams").exists(), "log": clip(res.stderr)}
    if not record["ok"]:
        record["error"] = _train_error(out, res)
    write_json_atomic(record_path, record)
    return record


def _train_error(out: Path, res: Completed) -> str:
    """The error the training process wrote down (ppdet models do), else what its exit says."""
    written = out / "train.json"
    if not res.timed_out and not res.signal_name and written.exists():
        try:
            error = read_json_object(written).get("error")
        except CorruptState:
            error = None
        if error:
            return str(error)
    return process_error(res, "training")


def process_error(res: Completed, what: str) -> str:
    if res.timed_out:
        return f"{what} timed out"
    if res.signal_name:
        return f"{what} crashed: {res.signal_name}"
    return f"{what} failed: " + (
        first_line(res.stderr.strip().splitlines()[-1]) if res.stderr.strip() else f"exit {res.returncode}"
    )


def export_dir_name(mode: ExportMode, weights_from: str = "") -> str:
    return mode.id + (f"@weights-{weights_from}" if weights_from else "")


def export_one(
    ctx: RunContext,
    rt: Runtime,
    model: Model,
    mode: ExportMode,
    trained: dict[str, Any],
    base_key: str,
    weights_from: str = "",
) -> Path:
    """Export one model in one mode in runtime rt; by default its own weights into
    exports/<rt>/<model>/<mode>. With weights_from, the weights another runtime trained
    ("train high, export low") into exports/<rt>/<model>/<mode>@weights-<that runtime>."""
    out = ctx.ws.export_dir(rt.id, model.id, export_dir_name(mode, weights_from))
    # The training key covers the weights: retrained weights mean a new export.
    key = digest(base_key, asdict(model), asdict(mode), weights_from, trained.get("key"))
    record_path = out / "export.json"
    if _cached(record_path, key) is not None:
        return out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if not trained["ok"]:
        # A model whose requires cannot be installed was never trained: say why, as is.
        error = trained["error"]
        if trained.get("stage") != "requires":
            error = f"the model could not be trained: {error}"
        write_export_record(out, key, "export_failed", error, trained["log"], trained.get("command", ""))
        return out
    extras = model_extras(ctx, rt, model, mode)  # rt's own: the weights may come from elsewhere
    if extras.error:  # another key, so that the next run tries the install again
        write_export_record(out, digest(key, extras.error), "export_failed", extras.error, extras.log, extras.command)
        return out
    spec_path = out.parent / f"{out.name}.spec.json"
    weights = ctx.ws.model_dir(weights_from or rt.id, model.id) / "weights.pdparams"
    spec = {"model": model.id, "family": model.family, "mode": asdict(mode), "out_dir": str(out),
            "dynamic_size": model.dynamic_size}
    write_json_atomic(spec_path, {**spec, "weights": str(weights)})
    env = {**export_env(mode), **extras.env()}
    res = ctx.backend.run(rt, export_args(spec_path), timeout=ctx.matrix.timeouts.export_s, env=env)
    command = ctx.backend.describe(rt, export_args(spec_path), env=env)
    record = read_export(out)
    if record is not None:
        if record["status"] == "ok":
            check_reference(record, out, ctx.ws.model_dir(weights_from or rt.id, model.id) / "train.json", model)
        # What the producer wrote, by content: a cached verdict is re-used only for these bytes.
        record.update(key=key, stderr=clip(res.stderr), command=command, content=files_sha256(out))
        write_json_atomic(record_path, record)
    else:  # the process died before it could write its own record
        status = "timeout" if res.timed_out else "crash" if res.signal_name else "export_failed"
        error = crash_line(res.stderr) or process_error(res, "export")
        write_export_record(out, key, status, error, res.stderr, command)
        record = {"status": status}
    console.say(f"[export {rt.id}] {model.id} {out.name}: {record['status']}")
    return out


def check_reference(record: dict[str, Any], out: Path, train_record: Path, model: Model) -> None:
    """The reference must be sane before any consumer is compared with it (see
    harness.phases.reference); one that is not makes the export export_failed at the
    `reference` stage, with the numbers."""
    check = check_export(out, train_record, model.reference_floor)
    record["reference_check"] = check.numbers
    if not check.ok:
        record.update(status="export_failed", stage="reference", error=check.error)


def export_args(spec_path: Path) -> list[str]:
    return [*INSIDE, "export", str(spec_path)]


def export_env(mode: ExportMode) -> dict[str, str]:
    # The program format is chosen by a flag read when paddle is imported.
    return {"FLAGS_enable_pir_api": "1" if mode.program_format == "pir" else "0"}


def write_export_record(out: Path, key: str, status: str, error: str, log: str, command: str = "") -> None:
    record = {"key": key, "status": status, "error": error, "log": clip(log), "command": command}
    write_json_atomic(out / "export.json", record)


def crash_line(log: str) -> str:
    """Paddle's own crash banner ("FatalError: `Segmentation fault` is detected ...")."""
    for line in log.splitlines():
        if line.strip().startswith("FatalError:"):
            return line.strip()
    return ""
