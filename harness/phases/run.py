"""The whole matrix: build every runtime, export in each, load in each, phase by phase."""

from __future__ import annotations

from harness.phases.build import build
from harness.phases.context import RunContext, parallel
from harness.phases.export import export_runtime
from harness.phases.load import load_runtime


def run_all(ctx: RunContext, jobs: int, build_gpu: bool = False, reuse: bool = True) -> None:
    runtimes = ctx.matrix.runtimes
    parallel(runtimes, lambda rt: build(ctx, rt, build_gpu), jobs)
    parallel(runtimes, lambda rt: export_runtime(ctx, rt), jobs)
    parallel(runtimes, lambda rt: load_runtime(ctx, rt, reuse), jobs)
