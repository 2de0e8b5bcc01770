"""Running the user's model in every runtime, choosing the reference, judging the cells."""

from __future__ import annotations

import collections
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from harness.config.matrix import Matrix, Runtime
from harness.console import console
from harness.document.cell import CellKey, Result, Status
from harness.phases.context import RunContext, parallel
from harness.phases.judge import to_result
from harness.phases.load import reproduce_command, task_for, worker_attempts
from harness.runtimes.worker_client import Outcome
from harness.store.results import append_result


# ================================================================ running the cells
@dataclass
class Ran:
    key: CellKey
    task: dict[str, Any]
    outcome: Outcome
    command: str

    @property
    def ok(self) -> bool:
        return self.outcome.kind == "done" and bool(self.outcome.reply.get("ok"))


def run_everywhere(
    ctx: RunContext,
    runtimes: Sequence[Runtime],
    directory: Path,
    producer: str,
    model: str,
    export: str,
    jobs: int,
) -> list[Ran]:
    """Every loader in every runtime, one worker per runtime, runtimes in parallel. Outcomes
    are collected first: the reference is chosen only once everything has run."""
    found: dict[str, list[Ran]] = {}
    matrix = ctx.matrix

    def one_runtime(rt: Runtime) -> None:
        keys = [CellKey(producer, model, export, rt.id, loader.id) for loader in matrix.loaders]
        tasks = [task_for(directory, loader, key.slug) for key, loader in zip(keys, matrix.loaders)]
        found[rt.id] = _run_worker(ctx, rt, list(zip(keys, tasks)), directory / "logs")
        console.say(f"[check {rt.id}] {sum(r.ok for r in found[rt.id])}/{len(keys)} loaders ran")

    parallel(runtimes, one_runtime, jobs)
    return [ran for rt in runtimes for ran in found[rt.id]]


def _run_worker(ctx: RunContext, rt: Runtime, tasks: list[tuple[CellKey, dict[str, Any]]], logs: Path) -> list[Ran]:
    return [
        Ran(key, task, attempt(), reproduce_command(ctx.backend, rt, task))
        for key, task, attempt in worker_attempts(ctx, rt, tasks, logs)
    ]


# ================================================================ the reference
def choose_reference(
    ran: Sequence[Ran], newest_first: Sequence[Runtime], versions: dict[str, str], wanted: str, written_by: str | None
) -> tuple[Ran | None, str]:
    """The cell whose outputs every other cell is compared with, and why it was chosen:
    the runtime the user named; else the runtime whose Paddle wrote the program (legacy
    programs record it); else the newest runtime that runs it. Within a runtime the
    plain predictor comes first, as a deployment would use it."""
    by_runtime: dict[str, list[Ran]] = collections.defaultdict(list)
    for r in ran:
        if r.ok:
            by_runtime[r.key.consumer].append(r)
    notes = []
    if wanted:
        if by_runtime.get(wanted):
            return _best(by_runtime[wanted]), f"{wanted}: chosen with --reference-runtime"
        notes.append(f"--reference-runtime {wanted} did not run the model")
    producer = next((rt.id for rt in newest_first if written_by and versions.get(rt.id) == written_by), None)
    if producer and by_runtime.get(producer):
        why = f"{producer}: the program was written by Paddle {written_by}"
        return _best(by_runtime[producer]), "; ".join([*notes, why])
    for rt in newest_first:
        if by_runtime.get(rt.id):
            return _best(by_runtime[rt.id]), "; ".join([*notes, f"{rt.id}: the newest runtime that runs the model"])
    return None, "; ".join([*notes, "none: the model ran in no runtime, so nothing could be compared"])


def _best(cells: list[Ran]) -> Ran:
    def rank(r: Ran) -> tuple[int, int]:
        loader = r.task["loader"]
        plain = loader.get("onednn", "default") == "default" and loader.get("ir_optim", "default") == "default"
        return (0 if loader["api"] == "predictor" else 1, 0 if plain else 1)

    return min(cells, key=rank)


def save_reference(reference: Ran, path: Path) -> None:
    """reference.npz with keys output_0..n, as the harness's own exports have it."""
    outputs = reference.outcome.reply["outputs"]
    arrays = {f"output_{i}": np.asarray(o["data"], dtype=o["dtype"]).reshape(o["shape"]) for i, o in enumerate(outputs)}
    save_npz(path, arrays)


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as its allow_pickle flag


def judge_all(
    matrix: Matrix, ran: Sequence[Ran], reference: Ran | None, reference_path: Path, results: Path
) -> list[Result]:
    judged = []
    for r in ran:
        # Without a reference nothing ran, so to_result never reaches the comparison.
        result = to_result(matrix, r.key, r.outcome, r.command, reference_path)
        if reference is not None:
            extra: dict[str, Any] = {"reference_runtime": reference.key.consumer}
            if r.key.consumer == reference.key.consumer:
                extra["reference"] = True
            result = replace(result, details={**result.details, **extra})
        append_result(results, result)
        judged.append(result)
    return judged



def runtime_line(rt_id: str, results: Sequence[Result]) -> str:
    """`cpu-3.3.1: loads and runs (predictor, jit_load pass)` / `cpu-2.6.2: load_failed: <error>`."""
    passed = [r.loader for r in results if r.status is Status.PASS]
    failed = [r for r in results if r.status is not Status.PASS]
    mark = " [reference]" if any(r.details.get("reference") for r in results) else ""
    if passed:
        others = "".join(f"; {r.loader} {r.status.value}: {r.error}" for r in failed)
        return f"{rt_id}{mark}: loads and runs ({', '.join(passed)} pass{others})"
    if not failed:
        return f"{rt_id}: no loaders ran"
    first = failed[0]
    different = sorted({r.status.value for r in failed[1:] if r.status is not first.status})
    also = f" (other loaders: {', '.join(different)})" if different else ""
    return f"{rt_id}{mark}: {first.status.value}: {first.error or '(no error text)'}{also}"


