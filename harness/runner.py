"""The phases: build a runtime, export in it, load every export in it.

Each phase reads and writes only the Workspace, so a CI job can run one phase for one
runtime and hand the directories on. Failures of Paddle are cell states; only
failures of the harness itself are exceptions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import numpy as np

from harness import inside_code, seam
from harness.backends import EXTRAS_ENV, Backend
from harness.config import ExportMode, Loader, Matrix, Model, Runtime
from harness.errors import RuntimeUnavailable
from harness.plan import Workspace, planned_cells
from harness.progress import Progress
from harness.status import FAILURES, CellKey, Result, Stage, Status, clip, first_line
from harness.store import append_result, read_json, write_json_atomic
from harness.verdict import judge
from harness.worker_client import WORKER_ARGS, Outcome, Worker, WorkerStartError

INSIDE = ["-m", "harness.inside"]
T = TypeVar("T")


def say(message: str) -> None:
    print(message, flush=True)


def parallel(items: Iterable[T], fn: Callable[[T], object], jobs: int) -> None:
    """Run fn over items on a thread pool; the work happens in child processes."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(fn, item) for item in items]:
            future.result()


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ================================================================ build
def has_gpu() -> bool:
    if not shutil.which("nvidia-smi"):
        return False
    return seam.run(["nvidia-smi", "-L"], timeout=30).ok


def gpu_problem(backend: Backend) -> str:
    """Why GPU runtimes cannot run with this backend ('' when they can). A backend may know
    better than the host's nvidia-smi: Docker also needs the engine's nvidia runtime."""
    ask = getattr(backend, "gpu_problem", None)
    if callable(ask):
        return str(ask())
    return "" if has_gpu() else "no GPU: nvidia-smi finds no device on this host"


def build(matrix: Matrix, backend: Backend, ws: Workspace, rt: Runtime, build_gpu: bool = False) -> dict[str, Any]:
    """Prepare one runtime and record its state: ready (with fingerprint), unavailable or skipped."""
    state: dict[str, Any] = {"id": rt.id, "backend": backend.name, "runtime": asdict(rt), "fingerprint": None}
    started = time.monotonic()
    if rt.device == "gpu" and not build_gpu and (no_gpu := gpu_problem(backend)):
        state.update(state="skipped", reason=no_gpu)
    else:
        state.update(_prepare(matrix, backend, ws, rt))
    state["build_s"] = round(time.monotonic() - started, 1)
    write_json_atomic(ws.state_file(rt.id), state)
    say(f"[build {rt.id}] {state['state']}" + (f": {first_line(state['reason'])}" if state.get("reason") else ""))
    return state


def _prepare(matrix: Matrix, backend: Backend, ws: Workspace, rt: Runtime) -> dict[str, Any]:
    try:
        backend.prepare(rt)
    except RuntimeUnavailable as exc:
        return {"state": "unavailable", "reason": str(exc)}
    identity = digest(backend.name, backend.identity(rt), inside_code.code_hash())
    before = runtime_state(ws, rt.id)
    if before.get("state") == "ready" and before.get("identity") == identity:
        # The same build as last time: its fingerprint still holds, no need to import paddle again.
        return {"state": "ready", "reason": "", "fingerprint": before["fingerprint"], "identity": identity}
    probed = _probe(matrix, backend, rt)
    return {**probed, "identity": identity} if probed["state"] == "ready" else probed


def _probe(matrix: Matrix, backend: Backend, rt: Runtime) -> dict[str, Any]:
    res = backend.run(rt, [*INSIDE, "probe"], timeout=matrix.timeouts.worker_start_s)
    if not res.ok:
        why = f"died by {res.signal_name}" if res.signal_name else "failed"
        return {
            "state": "unavailable",
            "reason": f"paddle installs but `import paddle` {why}:\n{clip(res.stderr, 4000)}",
        }
    fingerprint = json.loads(res.stdout.strip().splitlines()[-1])
    if rt.device == "gpu" and (no_gpu := gpu_problem(backend)):
        return {
            "state": "skipped",
            "reason": f"{no_gpu} (built, but nothing to run it on here)",
            "fingerprint": fingerprint,
        }
    return {"state": "ready", "reason": "", "fingerprint": fingerprint}


def runtime_state(ws: Workspace, rt_id: str) -> dict[str, Any]:
    path = ws.state_file(rt_id)
    if not path.exists():
        return {
            "id": rt_id,
            "state": "not_built",
            "reason": f"runtime {rt_id} was not built: run the build phase for it",
        }
    state: dict[str, Any] = read_json(path)
    return state


# ================================================================ export
def export_runtime(matrix: Matrix, backend: Backend, ws: Workspace, rt: Runtime) -> None:
    state = runtime_state(ws, rt.id)
    if state["state"] != "ready":
        say(f"[export {rt.id}] nothing to export: runtime is {state['state']}")
        return
    base_key = digest(state["fingerprint"], inside_code.code_hash())
    for model in matrix.models:
        trained = train_model(matrix, backend, ws, rt, model)
        for mode in matrix.export_modes:
            export_one(matrix, backend, ws, rt, model, mode, trained, base_key)


def train_model(matrix: Matrix, backend: Backend, ws: Workspace, rt: Runtime, model: Model) -> dict[str, Any]:
    """Train once per (runtime, model); every export mode of that pair uses these weights."""
    out = ws.model_dir(rt.id, model.id)
    key = digest(runtime_state(ws, rt.id).get("fingerprint"), inside_code.code_hash(), asdict(model))
    record_path = out / "train.result.json"
    if record_path.exists() and read_json(record_path).get("key") == key:
        cached: dict[str, Any] = read_json(record_path)
        return cached
    extras = model_extras(matrix, backend, ws, rt, model)
    if extras.error:  # not written down: the next run tries the install again
        return {"key": digest(key, extras.error), "ok": False, "stage": "requires", **extras.failure()}
    out.mkdir(parents=True, exist_ok=True)
    spec = {
        "model": model.id,
        "family": model.family,
        "steps": model.train_steps,
        "seed": model.seed,
        "out_dir": str(out),
    }
    write_json_atomic(out / "train.spec.json", spec)
    (out / "train.json").unlink(missing_ok=True)  # an error it holds must be this run's
    say(f"[export {rt.id}] training {model.id}")
    args = [*INSIDE, "train", str(out / "train.spec.json")]
    res = backend.run(rt, args, timeout=matrix.timeouts.export_s, env=extras.env() or None)
    record = {"key": key, "ok": res.ok and (out / "weights.pdparams").exists(), "log": clip(res.stderr)}
    if not record["ok"]:
        record["error"] = _train_error(out, res)
    write_json_atomic(record_path, record)
    return record


def _train_error(out: Path, res: seam.Completed) -> str:
    """The error the training process wrote down (ppdet models do), else what its exit says."""
    written = out / "train.json"
    if not res.timed_out and not res.signal_name and written.exists():
        error = read_json(written).get("error")
        if error:
            return str(error)
    return _process_error(res, "training")


def _process_error(res: seam.Completed, what: str) -> str:
    if res.timed_out:
        return f"{what} timed out"
    if res.signal_name:
        return f"{what} crashed: {res.signal_name}"
    return f"{what} failed: " + (
        first_line(res.stderr.strip().splitlines()[-1]) if res.stderr.strip() else f"exit {res.returncode}"
    )


def export_one(
    matrix: Matrix,
    backend: Backend,
    ws: Workspace,
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
    weights_rt = weights_from or rt.id
    out = ws.export_dir(rt.id, model.id, mode.id + (f"@weights-{weights_from}" if weights_from else ""))
    # The training key covers the weights: retrained weights mean a new export.
    key = digest(base_key, asdict(model), asdict(mode), weights_from, trained.get("key"))
    record_path = out / "export.json"
    if record_path.exists() and read_json(record_path).get("key") == key:
        return out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if not trained["ok"]:
        # A model whose requires cannot be installed was never trained: say why, as is.
        error = trained["error"]
        if trained.get("stage") != "requires":
            error = f"the model could not be trained: {error}"
        _write_export_record(out, key, "export_failed", error, trained["log"], trained.get("command", ""))
        return out
    extras = model_extras(matrix, backend, ws, rt, model)  # rt's own: the weights may come from elsewhere
    if extras.error:  # another key, so that the next run tries the install again
        _write_export_record(out, digest(key, extras.error), "export_failed", extras.error, extras.log, extras.command)
        return out
    spec_path = out.parent / f"{out.name}.spec.json"
    write_json_atomic(
        spec_path,
        {
            "model": model.id,
            "family": model.family,
            "mode": asdict(mode),
            "out_dir": str(out),
            "weights": str(ws.model_dir(weights_rt, model.id) / "weights.pdparams"),
        },
    )
    env = {**export_env(mode), **extras.env()}
    res = backend.run(rt, export_args(spec_path), timeout=matrix.timeouts.export_s, env=env)
    command = backend.describe(rt, export_args(spec_path), env=env)
    if record_path.exists():
        record = read_json(record_path)
        record.update(key=key, stderr=clip(res.stderr), command=command)
        write_json_atomic(record_path, record)
    else:  # the process died before it could write its own record
        status = "timeout" if res.timed_out else "crash" if res.signal_name else "export_failed"
        error = _crash_line(res.stderr) or _process_error(res, "export")
        _write_export_record(out, key, status, error, res.stderr, command)
    say(f"[export {rt.id}] {model.id} {out.name}: {read_json(record_path)['status']}")
    return out


def export_args(spec_path: Path) -> list[str]:
    return [*INSIDE, "export", str(spec_path)]


def export_env(mode: ExportMode) -> dict[str, str]:
    # The program format is chosen by a flag read when paddle is imported.
    return {"FLAGS_enable_pir_api": "1" if mode.program_format == "pir" else "0"}


# ================================================================ a model's requires
@dataclass(frozen=True)
class Extras:
    """A model's requires installed next to one runtime (``site``), or why they are not."""

    site: Path | None = None
    error: str = ""
    log: str = ""
    command: str = ""  # the install that failed, to rerun by hand

    def env(self) -> dict[str, str]:
        """What tells a producer process to use them (nothing for a model without requires)."""
        return {EXTRAS_ENV: str(self.site)} if self.site else {}

    def failure(self) -> dict[str, str]:
        return {"error": self.error, "log": self.log, "command": self.command}


# Installs that failed in this process, so that the training and every export of a model
# do not each try again; they are not written down, so the next run does.
_FAILED_INSTALLS: dict[Path, Extras] = {}


def model_extras(matrix: Matrix, backend: Backend, ws: Workspace, rt: Runtime, model: Model) -> Extras:
    """The model's requires for runtime rt, installed once per (runtime fingerprint,
    requirements) into work/extras/<runtime>/<hash>/site (requirements.txt and
    installed.json beside it). A model without requires needs nothing."""
    if not model.requires:
        return Extras()
    fingerprint = runtime_state(ws, rt.id).get("fingerprint")
    root = ws.root / "extras" / rt.id / digest(fingerprint, list(model.requires))
    if (root / "installed.json").exists():
        return Extras(root / "site")
    if root in _FAILED_INSTALLS:
        return _FAILED_INSTALLS[root]
    extras = _install_extras(matrix, backend, rt, model, root)
    if extras.error:
        _FAILED_INSTALLS[root] = extras
    return extras


def _install_extras(matrix: Matrix, backend: Backend, rt: Runtime, model: Model, root: Path) -> Extras:
    if root.exists():
        shutil.rmtree(root)  # an install that did not finish
    root.mkdir(parents=True)
    requirements = root / "requirements.txt"
    requirements.write_text("\n".join(model.requires) + "\n", encoding="utf-8")
    say(f"[export {rt.id}] installing the {len(model.requires)} requires of {model.id} into {root / 'site'}")
    started = time.monotonic()
    res = backend.install_extras(rt, requirements, root / "site", timeout=matrix.timeouts.build_s)
    if not res.ok:
        why = "timed out" if res.timed_out else _installer_error(res.stderr + "\n" + res.stdout)
        command = shlex.join(res.argv)
        error = f"the requires of {model.id} could not be installed in {rt.id}: {why}"
        return Extras(error=error, log=clip(f"$ {command}\n{res.stdout}\n{res.stderr}"), command=command)
    seconds = round(time.monotonic() - started, 1)
    record = {"requires": list(model.requires), "command": list(res.argv), "seconds": seconds}
    write_json_atomic(root / "installed.json", record)
    return Extras(root / "site")


def _installer_error(output: str) -> str:
    """The installer's own words: uv's `error:` line and its first `cause:`, pip's first `ERROR:`."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.lower().startswith("error"):
            cause = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("cause:") else ""
            return f"{line}; {cause}" if cause else line
    return lines[-1] if lines else "the installer failed without a word"


def _write_export_record(out: Path, key: str, status: str, error: str, log: str, command: str = "") -> None:
    record = {"key": key, "status": status, "error": error, "log": clip(log), "command": command}
    write_json_atomic(out / "export.json", record)


def _crash_line(log: str) -> str:
    """Paddle's own crash banner ("FatalError: `Segmentation fault` is detected ...")."""
    for line in log.splitlines():
        if line.strip().startswith("FatalError:"):
            return line.strip()
    return ""


# ================================================================ load
EXPORT_STATUS = {
    "export_failed": Status.EXPORT_FAILED,
    "not_applicable": Status.NOT_APPLICABLE,
    "crash": Status.CRASH,
    "timeout": Status.TIMEOUT,
}


def load_runtime(matrix: Matrix, backend: Backend, ws: Workspace, consumer: Runtime, reuse: bool = True) -> None:
    """Judge every planned cell whose consumer is this runtime; append each result as done."""
    results = ws.results_file(consumer.id)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("")  # this phase owns its file; a re-run starts it afresh
    load_cells(matrix, backend, ws, consumer, cells_for_consumer(matrix, consumer.id), results, reuse)


def load_cells(
    matrix: Matrix,
    backend: Backend,
    ws: Workspace,
    consumer: Runtime,
    keys: list[CellKey],
    results: Path,
    reuse: bool = True,
) -> list[Result]:
    """Settle, reuse or run the given cells of one consumer, appending each result to `results`.

    A verdict is reused when nothing it depends on changed: the export (its content key),
    the consumer runtime's fingerprint, the loader, the in-runtime code and the tolerances."""
    done: list[Result] = []
    tasks: list[tuple[CellKey, dict[str, Any]]] = []
    reused = 0
    for key in keys:
        settled = settle_without_running(matrix, ws, key)
        cached = None if settled or not reuse else _cached_cell(ws, cell_cache_key(matrix, ws, key))
        known = settled or cached
        if known is not None:
            append_result(results, known)
            done.append(known)
            reused += cached is not None
        else:
            tasks.append((key, make_task(ws, key, matrix.loaders)))
    if tasks:
        done += run_tasks(matrix, backend, ws, consumer, tasks, results)
    say(
        f"[load {consumer.id}] {len(keys)} cells: computed {len(tasks)}, reused {reused}, "
        f"settled without running {len(keys) - len(tasks) - reused}"
    )
    return done


def cell_cache_key(matrix: Matrix, ws: Workspace, key: CellKey) -> str:
    record = read_json(ws.export_dir(key.producer, key.model, key.export) / "export.json")
    loader = next(ld for ld in matrix.loaders if ld.id == key.loader)
    fingerprint = runtime_state(ws, key.consumer).get("fingerprint")
    parts = (key.slug, record.get("key"), fingerprint, asdict(loader), inside_code.code_hash())
    return digest(*parts, asdict(matrix.tolerances))


def _cache_path(ws: Workspace, cache_key: str) -> Path:
    return ws.root / "cache" / "cells" / f"{cache_key}.json"


def _cached_cell(ws: Workspace, cache_key: str) -> Result | None:
    path = _cache_path(ws, cache_key)
    return Result.from_json(read_json(path)) if path.exists() else None


def cells_for_consumer(matrix: Matrix, consumer: str) -> list[CellKey]:
    return [k for k in planned_cells(matrix) if k.consumer == consumer]


def settle_without_running(matrix: Matrix, ws: Workspace, key: CellKey) -> Result | None:
    """The verdict of a cell that cannot run: a runtime is missing or the export is."""
    for role, rt_id in (("producer", key.producer), ("consumer", key.consumer)):
        state = runtime_state(ws, rt_id)
        if state["state"] != "ready":
            status = Status.SKIPPED if state["state"] == "skipped" else Status.UNAVAILABLE
            if state["state"] == "not_built":
                status = Status.INFRA_ERROR
            error = f"{role} {rt_id} {state['state']}: {first_line(state.get('reason', ''))}"
            return Result.for_cell(key, status, stage=Stage.BUILD, error=error, log=state.get("reason", ""))
    record_path = ws.export_dir(key.producer, key.model, key.export) / "export.json"
    if not record_path.exists():
        return Result.for_cell(
            key,
            Status.INFRA_ERROR,
            stage=Stage.EXPORT,
            error=f"no export from {key.producer}: run the export phase for it first",
        )
    record = read_json(record_path)
    if record["status"] != "ok":
        return Result.for_cell(
            key,
            EXPORT_STATUS.get(record["status"], Status.EXPORT_FAILED),
            stage=Stage.EXPORT,
            error=record.get("error", ""),
            log=record.get("log", "") or record.get("stderr", ""),
            details=_export_details(record),
        )
    return None


# What a failed cell keeps of its export record as evidence (ppdet_version: ppdet models only).
_EXPORT_EVIDENCE = (
    "program_format",
    "to_static_kwargs",
    "static_function",
    "files",
    "warnings",
    "paddle_version",
    "ppdet_version",
)


def _export_details(record: dict[str, Any]) -> dict[str, Any]:
    details = {f"export_{k}": record[k] for k in _EXPORT_EVIDENCE if record.get(k)}
    if record.get("command"):  # the export is where it failed: rerunning it reproduces the cell
        details["reproduce"] = record["command"]
    return details


def make_task(ws: Workspace, key: CellKey, loaders: tuple[Loader, ...]) -> dict[str, Any]:
    loader = next(ld for ld in loaders if ld.id == key.loader)
    return task_for(ws.export_dir(key.producer, key.model, key.export), loader, key.slug)


def task_for(out: Path, loader: Loader, task_id: str) -> dict[str, Any]:
    """The worker task that loads the export in `out` with `loader`."""
    record = read_json(out / "export.json")
    return {
        "id": task_id,
        "loader": asdict(loader),
        "program": str(out / record["program_file"]),
        "params": str(out / "model.pdiparams"),
        "prefix": str(out / "model"),
        "input": str(out / "input.npz"),
    }


def run_tasks(
    matrix: Matrix,
    backend: Backend,
    ws: Workspace,
    consumer: Runtime,
    tasks: list[tuple[CellKey, dict[str, Any]]],
    results: Path,
) -> list[Result]:
    done: list[Result] = []
    progress = Progress(f"load {consumer.id}", len(tasks))
    for key, task, attempt in worker_attempts(matrix, backend, consumer, tasks, ws.logs_dir):
        command = reproduce_command(backend, consumer, task)
        result = to_result(matrix, ws, key, attempt(), command)
        if result.status in FAILURES and matrix.retries:
            result = _retried(matrix, ws, key, attempt, result, command)
        append_result(results, result)
        done.append(result)
        if result.status is not Status.INFRA_ERROR:  # a harness failure is not a verdict to keep
            write_json_atomic(_cache_path(ws, cell_cache_key(matrix, ws, key)), result.to_json())
        progress.step(f"{key.producer} {key.model} {key.export} {key.loader}")
    return done


Attempt = Callable[[], Outcome]


def worker_attempts(
    matrix: Matrix, backend: Backend, rt: Runtime, tasks: list[tuple[CellKey, dict[str, Any]]], logs: Path
) -> Iterator[tuple[CellKey, dict[str, Any], Attempt]]:
    """Run tasks in one long-lived worker of runtime rt: yields each task with a function
    that runs it (once, or again for a retry). A worker that cannot start makes every
    attempt an infra outcome, without trying again for every cell."""
    start_error = ""
    with Worker(backend, rt, logs / f"worker-{rt.id}.log", matrix.timeouts.worker_start_s) as worker:
        for key, task in tasks:

            def attempt(task: dict[str, Any] = task) -> Outcome:
                nonlocal start_error
                if not start_error:
                    try:
                        return worker.run(task, matrix.timeouts.cell_s)
                    except WorkerStartError as exc:
                        start_error = str(exc)
                return Outcome("infra", reply={"error": start_error})

            yield key, task, attempt


def _retried(matrix: Matrix, ws: Workspace, key: CellKey, attempt: Attempt, first: Result, command: str) -> Result:
    """Retry a failing cell up to matrix.retries times. A pass on a retry is `flaky`, keeping
    the first failure's error; every attempt is kept in details.attempts either way."""
    attempts = [first]
    while attempts[-1].status in FAILURES and len(attempts) <= matrix.retries:
        attempts.append(to_result(matrix, ws, key, attempt(), command))
    summary = [{"status": a.status.value, "error": a.error, "max_abs_diff": a.max_abs_diff} for a in attempts]
    last = attempts[-1]
    details = {**last.details, "attempts": summary}
    if last.status is Status.PASS:
        return dataclasses.replace(last, status=Status.FLAKY, stage=first.stage, error=first.error, details=details)
    return dataclasses.replace(last, details=details)


def reproduce_command(backend: Backend, rt: Runtime, task: dict[str, Any]) -> str:
    """One pasteable line that runs exactly this cell in the consumer runtime."""
    payload = json.dumps(task).replace("'", "'\\''")
    return f"echo '{payload}' | {backend.describe(rt, WORKER_ARGS)}"


def to_result(
    matrix: Matrix, ws: Workspace, key: CellKey, outcome: Outcome, command: str, reference: Path | None = None
) -> Result:
    """A worker outcome as a cell result; outputs are judged against `reference`
    (default: the reference.npz saved beside the cell's export)."""
    details: dict[str, Any] = {"reproduce": command}
    common = {"duration_s": round(outcome.seconds, 3)}
    if outcome.kind == "infra":
        return Result.for_cell(
            key,
            Status.INFRA_ERROR,
            error=first_line(outcome.reply["error"]),
            log=outcome.reply["error"],
            details=details,
        )
    if outcome.kind in ("crash", "timeout"):
        status = Status.CRASH if outcome.kind == "crash" else Status.TIMEOUT
        headline = (
            f"the loading process died by {outcome.signal}"
            if outcome.kind == "crash"
            else f"no answer within {matrix.timeouts.cell_s:g} s"
        )
        banner = _crash_line(outcome.log)
        details["signal"] = outcome.signal
        return Result.for_cell(
            key,
            status,
            stage=Stage.LOAD,
            error=f"{headline}: {banner}" if banner else headline,
            log=clip(outcome.log),
            details=details,
            **common,
        )
    reply = outcome.reply
    details.update({k: reply[k] for k in ("config_calls", "load_s", "run_s", "peak_rss_mb") if k in reply})
    if not reply["ok"]:
        status = Status.LOAD_FAILED if reply["stage"] == "load" else Status.RUN_FAILED
        return Result.for_cell(
            key,
            status,
            stage=Stage(reply["stage"]),
            error=reply.get("error", ""),
            log=clip(reply.get("log", "") + "\n--- worker stderr ---\n" + outcome.log),
            details=details,
            **common,
        )
    reference = reference or ws.export_dir(key.producer, key.model, key.export) / "reference.npz"
    return judged(matrix, key, reply, details, common, reference)


def judged(
    matrix: Matrix,
    key: CellKey,
    reply: dict[str, Any],
    details: dict[str, Any],
    common: dict[str, Any],
    reference_path: Path,
) -> Result:
    outputs = [np.asarray(o["data"], dtype=o["dtype"]).reshape(o["shape"]) for o in reply["outputs"]]
    with np.load(reference_path) as ref:
        reference = [ref[f"output_{i}"] for i in range(len(ref.files))]
    verdict = judge(reference, outputs, matrix.tolerances)
    details.update(verdict.details)
    details["output_shapes"] = [o["shape"] for o in reply["outputs"]]
    stage = Stage.COMPARE if verdict.status is Status.MISMATCH else None
    return Result.for_cell(
        key,
        verdict.status,
        stage=stage,
        error=verdict.error,
        max_abs_diff=verdict.max_abs_diff,
        details=details,
        **common,
    )


# ================================================================ whole matrix
def run_all(
    matrix: Matrix, backend: Backend, ws: Workspace, jobs: int, build_gpu: bool = False, reuse: bool = True
) -> None:
    parallel(matrix.runtimes, lambda rt: build(matrix, backend, ws, rt, build_gpu), jobs)
    parallel(matrix.runtimes, lambda rt: export_runtime(matrix, backend, ws, rt), jobs)
    parallel(matrix.runtimes, lambda rt: load_runtime(matrix, backend, ws, rt, reuse), jobs)
