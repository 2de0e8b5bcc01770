"""Load phase: every export in one consumer runtime, one long-lived worker, each cell's
result appended as soon as it is judged. A consumer is a Paddle runtime (its loaders load
the export) or a deployment consumer (its loaders convert it first: harness.phases.deploy).

A verdict is re-used only while everything it depends on is unchanged (see VerdictCache);
a cell that cannot run is settled from the work directory without starting anything."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterator

from harness.config.deployments import Buildable, Deployment
from harness.config.matrix import Loader
from harness.config.plan import planned_cells
from harness.console import console
from harness.document.cell import FAILURES, CellKey, Result, Stage, Status
from harness.phases.accuracy import eval_feeds
from harness.phases.context import RunContext
from harness.phases.deploy import convert_only, deploy_result, deploy_task
from harness.phases.judge import to_result
from harness.runtimes import inside_code
from harness.runtimes.backend import Backend
from harness.runtimes.worker_client import Outcome, Worker, WorkerStartError, worker_args
from harness.store.exports import files_sha256, read_export
from harness.store.files import CorruptState, digest, move_aside, read_json_object, write_json_atomic
from harness.store.results import append_result, append_results
from harness.store.settled import settle

Attempt = Callable[[], Outcome]
Judge = Callable[[Outcome], Result]
Task = tuple[CellKey, dict[str, Any]]


def cells_for_consumer(ctx: RunContext, consumer: str) -> list[CellKey]:
    return [k for k in planned_cells(ctx.matrix) if k.consumer == consumer]


def load_runtime(ctx: RunContext, consumer: Buildable, reuse: bool = True) -> None:
    """Judge every planned cell whose consumer is this runtime; append each result as done."""
    results = ctx.ws.results_file(consumer.id)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("")  # this phase owns its file; a re-run starts it afresh
    load_cells(ctx, consumer, cells_for_consumer(ctx, consumer.id), results, reuse)


def load_cells(
    ctx: RunContext, consumer: Buildable, keys: list[CellKey], results: Path, reuse: bool = True
) -> list[Result]:
    """Settle, reuse or run the given cells of one consumer, appending each result to ``results``."""
    cache = VerdictCache(ctx, consumer)
    done: list[Result] = []
    tasks: list[Task] = []
    reused = 0
    for key in keys:
        settled = gpu_settled(ctx, consumer, key) or settle(ctx.ws, key)
        cached = None if settled or not reuse else cache.get(key)
        known = settled or cached
        if known is not None:
            done.append(known)
            reused += cached is not None
        else:
            tasks.append((key, make_task(ctx, key)))
    append_results(results, done)  # what needed no running, in one write (one fsync, not one per cell)
    if tasks:
        done += run_tasks(ctx, consumer, tasks, results, cache)
    console.say(
        f"[load {consumer.id}] {len(keys)} cells: computed {len(tasks)}, reused {reused}, "
        f"settled without running {len(keys) - len(tasks) - reused}"
    )
    return done


def gpu_settled(ctx: RunContext, consumer: Buildable, key: CellKey) -> Result | None:
    """A GPU loader's cell where it cannot run: `skipped` with the backend's reason where
    there is no GPU, `not_applicable` on a runtime whose Paddle is a CPU build."""
    if isinstance(consumer, Deployment) or ctx.loader(key.loader).device != "gpu":
        return None
    if no_gpu := ctx.backend.gpu_problem():
        return Result.for_cell(key, Status.SKIPPED, stage=Stage.BUILD, error=f"loader {key.loader}: {no_gpu}")
    if consumer.device != "gpu":
        why = f"loader {key.loader} runs on a GPU; {consumer.id} is a CPU build of Paddle"
        return Result.for_cell(key, Status.NOT_APPLICABLE, stage=Stage.LOAD, error=why)
    return None


class VerdictCache:
    """work/cache/cells/<key>.json. The key covers the cell, the export record's key AND the
    export files as they are on disk now, the consumer's fingerprint AND its environment as it
    is on disk now (backend.identity: a venv's file manifest, an image id), the loader, the
    in-runtime code, tolerances, timeouts and retries."""

    def __init__(self, ctx: RunContext, consumer: Buildable) -> None:
        self.ctx = ctx
        matrix = ctx.matrix
        timeouts = (matrix.timeouts.cell_s, matrix.timeouts.worker_start_s, matrix.retries)
        # What every cell of this consumer shares, hashed once: its fingerprint, its
        # environment as on disk now, the in-runtime code, tolerances, timeouts and retries.
        environment = ctx.backend.identity(consumer)
        fingerprint = ctx.state(consumer.id).fingerprint
        self.consumer = digest(
            fingerprint, environment, inside_code.code_hash(), judge_code(), asdict(matrix.tolerances), timeouts
        )
        self.contents: dict[Path, dict[str, str]] = {}

    def export_content(self, out: Path) -> dict[str, str]:
        if out not in self.contents:
            self.contents[out] = files_sha256(out)
        return self.contents[out]

    def key(self, key: CellKey) -> str:
        out = self.ctx.ws.export_dir(key.producer, key.model, key.export)
        record = read_export(out) or {}
        parts = (key.slug, record.get("key"), self.export_content(out), loader_spec(self.ctx, key))
        return digest(*parts, self.consumer)

    def path(self, key: CellKey) -> Path:
        return self.ctx.ws.root / "cache" / "cells" / f"{self.key(key)}.json"

    def get(self, key: CellKey) -> Result | None:
        path = self.path(key)
        if not path.exists():
            return None
        try:
            return Result.from_json(read_json_object(path))
        except (CorruptState, KeyError, ValueError, TypeError) as exc:
            moved = move_aside(path)
            why = exc.why if isinstance(exc, CorruptState) else f"not a cell result ({type(exc).__name__}: {exc})"
            console.warn(f"cached verdict {path} is unreadable: {why}; moved aside to {moved.name}, recomputing")
            return None

    def put(self, result: Result) -> None:
        if result.status is not Status.INFRA_ERROR:  # a harness failure is not a verdict to keep
            write_json_atomic(self.path(result.key), result.to_json())


@functools.cache
def judge_code() -> str:
    """The host code that turns outputs into a verdict: a harness whose judging changed
    (a new tolerance, the accuracy verdict) must not re-use what the old one decided."""
    here = Path(__file__).parent
    return digest(*[(here / name).read_text(encoding="utf-8") for name in _JUDGING])


_JUDGING = ("judge.py", "verdict.py", "accuracy.py", "deploy.py")


def loader_spec(ctx: RunContext, key: CellKey) -> dict[str, Any]:
    """How the cell loads, as its verdict's key sees it: the loader; for a deployment consumer
    its loader (target or opset) and the deployment as declared (its pinned packages)."""
    dep = ctx.matrix.deployment(key.consumer)
    if dep is None:
        return asdict(ctx.loader(key.loader))
    return {**asdict(dep.loader(key.loader)), "deployment": asdict(dep)}


def make_task(ctx: RunContext, key: CellKey) -> dict[str, Any]:
    out = ctx.ws.export_dir(key.producer, key.model, key.export)
    dep = ctx.matrix.deployment(key.consumer)
    if dep is not None:
        return deploy_task(ctx.ws, dep, dep.loader(key.loader), key, out)
    return task_for(out, ctx.loader(key.loader), key.slug)


def task_for(out: Path, loader: Loader, task_id: str) -> dict[str, Any]:
    """The worker task that loads the export in ``out`` with ``loader``."""
    record = read_export(out) or {}
    return {
        "id": task_id,
        "loader": asdict(loader),
        "program": str(out / str(record.get("program_file", "model.json"))),
        "params": str(out / "model.pdiparams"),
        "prefix": str(out / "model"),
        "input": str(out / "input.npz"),
    } | eval_feeds(out)


def run_tasks(
    ctx: RunContext, consumer: Buildable, tasks: list[Task], results: Path, cache: VerdictCache
) -> list[Result]:
    done: list[Result] = []
    progress = console.progress(f"load {consumer.id}", len(tasks))
    for key, task, attempt in worker_attempts(ctx, consumer, tasks, ctx.ws.logs_dir):
        judge = cell_judge(ctx, consumer, key, task)
        result = judge(attempt())
        if result.status in FAILURES and ctx.matrix.retries:
            result = retried(ctx, attempt, result, judge)
        append_result(results, result)
        done.append(result)
        cache.put(result)
        progress.step(f"{key.producer} {key.model} {key.export} {key.loader}")
    return done


def cell_judge(ctx: RunContext, consumer: Buildable, key: CellKey, task: dict[str, Any]) -> Judge:
    """What turns a worker's outcome for this cell into its Result (judged against the
    producer's reference), with the command(s) that reproduce it."""
    reference = ctx.ws.export_dir(key.producer, key.model, key.export) / "reference.npz"
    command = reproduce_command(ctx.backend, consumer, task)
    if isinstance(consumer, Deployment):
        commands = (reproduce_command(ctx.backend, consumer, convert_only(task)), command)
        loader = consumer.loader(key.loader)
        return lambda outcome: deploy_result(ctx.matrix, key, loader, outcome, commands, reference)
    return lambda outcome: to_result(ctx.matrix, key, outcome, command, reference)


def worker_attempts(
    ctx: RunContext, rt: Buildable, tasks: list[Task], logs: Path
) -> Iterator[tuple[CellKey, dict[str, Any], Attempt]]:
    """Run tasks in one long-lived worker of runtime rt: yields each task with a function
    that runs it (once, or again for a retry). A worker that cannot start makes every
    attempt an infra outcome, without trying again for every cell."""
    start_error = ""
    timeouts = ctx.matrix.timeouts
    with Worker(ctx.backend, rt, logs / f"worker-{rt.id}.log", timeouts.worker_start_s) as worker:
        for key, task in tasks:

            def attempt(task: dict[str, Any] = task) -> Outcome:
                nonlocal start_error
                if not start_error:
                    try:
                        return worker.run(task, timeouts.cell_s)
                    except WorkerStartError as exc:
                        start_error = str(exc)
                return Outcome("infra", reply={"error": start_error})

            yield key, task, attempt


def retried(ctx: RunContext, attempt: Attempt, first: Result, judge: Judge) -> Result:
    """Retry a failing cell up to matrix.retries times. A pass on a retry is `flaky`, keeping
    the first failure's error; every attempt is kept in details.attempts either way."""
    attempts = [first]
    while attempts[-1].status in FAILURES and len(attempts) <= ctx.matrix.retries:
        attempts.append(judge(attempt()))
    summary = [{"status": a.status.value, "error": a.error, "max_abs_diff": a.max_abs_diff} for a in attempts]
    last = attempts[-1]
    details = {**last.details, "attempts": summary}
    if last.status is Status.PASS:
        return dataclasses.replace(last, status=Status.FLAKY, stage=first.stage, error=first.error, details=details)
    return dataclasses.replace(last, details=details)


def reproduce_command(backend: Backend, rt: Buildable, task: dict[str, Any]) -> str:
    """One pasteable line that runs exactly this cell in the consumer runtime."""
    payload = json.dumps(task).replace("'", "'\\''")
    return f"echo '{payload}' | {backend.describe(rt, worker_args(rt))}"
