"""Reproduce one producer/consumer pair: build only those two runtimes, export in the
producer, load in the consumer, and print everything a person needs to dig in: the
stage, the verbatim error, the full log, and the commands to do each step by hand; with
``--report-md`` also each failing cell's upstream report (harness.report.upstream)."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Protocol, TypeVar

from harness.config.deployments import Buildable
from harness.config.matrix import Matrix, unknown_id_message
from harness.config.plan import planned_cells
from harness.console import console
from harness.document.cell import FAILURES, Result, Status
from harness.errors import ConfigError
from harness.phases.build import build
from harness.phases.context import RunContext
from harness.phases.export import export_args, export_env, export_runtime
from harness.phases.load import load_cells
from harness.report.collect import export_entry, loader_entries, runtime_entry
from harness.report.upstream import upstream_report
from harness.runtimes.backend import get_backend
from harness.store.exports import read_export
from harness.store.layout import Workspace
from harness.store.state import read_state

RULE = "=" * 100
HIDDEN = ("reproduce", "reproduce_convert", "export_files", "export_warnings")  # printed apart, or too long


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


def _only(items: tuple[T, ...], wanted: str, kind: str, problems: list[str]) -> tuple[T, ...]:
    ids = [i.id for i in items]
    if wanted and wanted not in ids:
        problems.append(unknown_id_message(kind, wanted, ids))
    return tuple(i for i in items if not wanted or i.id == wanted)


def narrow(matrix: Matrix, runtimes: list[str], model: str, export: str, loader: str) -> Matrix:
    """The matrix cut down to the named runtimes (or deployment consumer) and (optionally)
    one model, mode, loader (for a deployment consumer: one of its targets or opsets)."""
    problems: list[str] = []
    models = _only(matrix.models, model, "model", problems)
    modes = _only(matrix.export_modes, export, "export mode", problems)
    chosen = matrix.select(runtimes)
    deployed = {ld.id for dep in chosen.deployments for ld in dep.loaders}
    loaders = matrix.loaders if loader in deployed else _only(matrix.loaders, loader, "loader", problems)
    if problems:
        raise ConfigError("repro", problems)
    return dataclasses.replace(chosen, models=models, export_modes=modes, loaders=loaders)


def repro(
    ctx: RunContext,
    producer: str,
    consumer: str,
    model: str = "",
    export: str = "",
    loader: str = "",
    report_md: bool = False,
) -> list[Result]:
    small = dataclasses.replace(ctx, matrix=narrow(ctx.matrix, [producer, consumer], model, export, loader))
    built: list[Buildable] = [*small.matrix.runtimes, *small.matrix.deployments]
    for rt in built:
        build(small, rt)
    export_runtime(small, small.matrix.runtime(producer))
    keys = [
        k
        for k in planned_cells(small.matrix)
        if k.producer == producer and k.consumer == consumer and (not loader or k.loader == loader)
    ]
    results = load_cells(small, small.matrix.consumer(consumer), keys, small.ws.root / "repro.jsonl")
    for result in results:
        print_cell(small, result)
    if report_md:
        for result in results:
            if result.status in FAILURES:
                console.data(f"{RULE}\n{report_markdown(small, result)}")
    return results


def report_markdown(ctx: RunContext, result: Result) -> str:
    """The cell's upstream report (Markdown for a Paddle issue), from what its phases recorded."""
    consumers: list[Buildable] = [*ctx.matrix.runtimes, *ctx.matrix.deployments]
    runtimes = {rt.id: runtime_entry(rt, read_state(ctx.ws, rt.id)) for rt in consumers}
    loaders = {ld.id: ld for ld in loader_entries(ctx.matrix)}
    out = ctx.ws.export_dir(result.producer, result.model, result.export)
    record = read_export(out)
    return upstream_report(
        result,
        consumer=runtimes.get(result.consumer),
        producer=runtimes.get(result.producer),
        loader=loaders.get(result.loader),
        export=export_entry(result.producer, result.model, result.export, record, out) if record else None,
    )


def print_cell(ctx: RunContext, result: Result) -> None:
    say = console.data  # this is the answer the user asked for: printed even with --quiet
    say(RULE)
    say(f"{result.producer} -> {result.consumer} | {result.model} | {result.export} | {result.loader}")
    say(f"status: {result.status.value}" + (f" (stage: {result.stage.value})" if result.stage else ""))
    if result.error:
        say(f"error:  {result.error}")
    if result.max_abs_diff is not None:
        say(f"max_abs_diff: {result.max_abs_diff:.6g}")
    numbers = {k: v for k, v in result.details.items() if k not in HIDDEN}
    if numbers:
        say("details: " + ", ".join(f"{k}={v}" for k, v in numbers.items()))
    if result.log.strip():
        say("--- log ---\n" + result.log.rstrip())
    say("--- do it by hand ---")
    say("export in the producer:\n  " + export_command(ctx, result))
    if "reproduce_convert" in result.details:
        say("convert in the deployment consumer:\n  " + result.details["reproduce_convert"])
    if "reproduce" in result.details:
        say("load and run in the consumer:\n  " + result.details["reproduce"])


def export_command(ctx: RunContext, result: Result) -> str:
    """The command the export phase ran, as it recorded it (with every variable it set, such
    as a model's extra packages); built from the spec where the record has none."""
    out = ctx.ws.export_dir(result.producer, result.model, result.export)
    record = read_export(out) or {}
    if record.get("command"):
        return str(record["command"])
    mode = next(m for m in ctx.matrix.export_modes if m.id == result.export)
    spec = out.parent / f"{out.name}.spec.json"
    producer = ctx.matrix.runtime(result.producer)
    return ctx.backend.describe(producer, export_args(spec), env=export_env(mode))


def run(matrix: Matrix, backend: str, work: Path | None, keep: bool, report_md: bool = False, **pair: str) -> int:
    """Run a repro in its own workspace (removed afterwards unless keep) and return the exit code."""
    root = work or Path(tempfile.mkdtemp(prefix="harness-repro-"))
    ws = Workspace(root.resolve())
    try:
        results = repro(RunContext(matrix, get_backend(backend, ws.root), ws), **pair, report_md=report_md)
    finally:
        if keep or work:
            console.say(f"kept: runtimes, exports and logs are in {ws.root}")
        else:
            console.say(f"removed {ws.root}: rerun with --keep to use the paths above by hand")
            shutil.rmtree(root, ignore_errors=True)
    return 0 if results and all(r.status is Status.PASS for r in results) else 10
