"""The whole matrix: build every runtime, export in each, load in each, phase by phase."""

from __future__ import annotations

from harness.config.deployments import Buildable
from harness.document.cell import first_line
from harness.phases.build import build
from harness.phases.context import RunContext, parallel
from harness.phases.export import export_runtime
from harness.phases.load import load_runtime


def run_all(ctx: RunContext, jobs: int, build_gpu: bool = False, reuse: bool = True) -> None:
    """Paddle runtimes build, export and load; deployment consumers build and load."""
    runtimes = ctx.matrix.runtimes
    consumers: list[Buildable] = [*runtimes, *ctx.matrix.deployments]
    parallel(consumers, lambda rt: build(ctx, rt, build_gpu), jobs)
    parallel(runtimes, lambda rt: export_runtime(ctx, rt), jobs)
    parallel(consumers, lambda rt: load_runtime(ctx, rt, reuse), jobs)


def nothing_built(ctx: RunContext) -> list[str]:
    """When no Paddle runtime of the run ended ready (a skipped GPU runtime was not built
    either): one line per runtime with the first line of its reason. [] when any is ready
    (deployment consumers alone judge nothing: no export comes from them)."""
    records = [ctx.state(rt.id) for rt in ctx.matrix.runtimes]
    if any(r.ready for r in records):
        return []
    return [f"{r.id}: {r.state.value}: {first_line(r.reason) or 'no reason recorded'}" for r in records]
