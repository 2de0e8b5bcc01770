"""Naive loop vs the harness on the same cells of a warm matrix, measured in one run.

    python benchmarks/bench_load.py --matrix tests/data/matrix-small.yaml --work work [--cells 24] [--jobs 2]

Needs a work directory whose runtimes are built and exports made (`nox -s matrix` once).
Prints ratios only; this machine is shared and noisy, so nothing here is a threshold.

- naive:   what a maintainer writes first: one fresh process per cell
           (`echo TASK | python -m harness.inside worker`), one after another;
- harness: the load phase (one long-lived forking worker per consumer, consumers in
           parallel on --jobs cores), verdict cache off;
- bound:   sum over consumers of (process start + import paddle) plus the cells' own
           load+run time as the worker measured it, divided by the cores used.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.config.matrix import load_matrix  # noqa: E402
from harness.phases.context import RunContext, parallel  # noqa: E402
from harness.phases.load import cells_for_consumer, load_cells, make_task  # noqa: E402
from harness.runtimes import seam  # noqa: E402
from harness.runtimes.venv import VenvBackend  # noqa: E402
from harness.runtimes.worker_client import WORKER_ARGS  # noqa: E402
from harness.store.layout import Workspace  # noqa: E402
from harness.store.settled import settle  # noqa: E402


def runnable_cells(ctx, limit):
    """Cells whose export exists and both runtimes are ready, `limit` per consumer."""
    picked = {}
    for rt in ctx.matrix.runtimes:
        keys = [k for k in cells_for_consumer(ctx, rt.id) if settle(ctx.ws, k) is None]
        if keys:
            picked[rt.id] = keys[:limit]
    return picked


def naive(ctx, cells):
    started = time.monotonic()
    for consumer, keys in cells.items():
        rt = ctx.matrix.runtime(consumer)
        for key in keys:
            task = json.dumps(make_task(ctx, key))
            res = seam.run(
                [ctx.backend.python(rt), *WORKER_ARGS],
                env=ctx.backend.env(),
                cwd=ctx.ws.root,
                timeout=ctx.matrix.timeouts.cell_s + 60,
                input_text=task + "\n",
            )
            assert res.returncode is not None
    return time.monotonic() - started


def harness_time(ctx, cells, jobs, out):
    started = time.monotonic()
    results = {}

    def one(consumer):
        rt = ctx.matrix.runtime(consumer)
        results[consumer] = load_cells(ctx, rt, cells[consumer], out / f"{consumer}.jsonl", reuse=False)

    parallel(list(cells), one, jobs)
    return time.monotonic() - started, results


def import_cost(ctx, consumer, repeats=2):
    rt = ctx.matrix.runtime(consumer)
    times = []
    for _ in range(repeats):
        t = time.monotonic()
        argv = [ctx.backend.python(rt), "-c", "import numpy, numpy.random, paddle"]
        seam.run(argv, env=ctx.backend.env(), timeout=300)
        times.append(time.monotonic() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--matrix", default="matrix.yaml")
    ap.add_argument("--work", default="work")
    ap.add_argument("--cells", type=int, default=24, help="cells per consumer runtime")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    ws = Workspace(Path(args.work).resolve())
    ctx = RunContext(load_matrix(args.matrix), VenvBackend(ws.root), ws)  # the naive loop needs its python()
    cells = runnable_cells(ctx, args.cells)
    if not cells:
        sys.exit("no runnable cells: build and export first (nox -s matrix)")
    total = sum(len(v) for v in cells.values())
    print(f"{total} cells over {len(cells)} consumer runtimes, {args.jobs} cores for the harness")
    with tempfile.TemporaryDirectory() as tmp:
        t_harness, results = harness_time(ctx, cells, args.jobs, Path(tmp))
    t_naive = naive(ctx, cells)
    starts = {c: import_cost(ctx, c) for c in cells}
    work = sum((r.details.get("load_s") or 0) + (r.details.get("run_s") or 0) for rs in results.values() for r in rs)
    bound = (sum(starts.values()) + work) / args.jobs
    rss = {c: max((r.details.get("peak_rss_mb") or 0) for r in rs) for c, rs in results.items()}
    print(
        f"naive loop      {t_naive:8.1f} s  (one process per cell, median start+import "
        f"{statistics.median(starts.values()):.1f} s)"
    )
    print(f"harness         {t_harness:8.1f} s")
    print(
        f"lower bound     {bound:8.1f} s  (starts {sum(starts.values()):.1f} s + cell work {work:.1f} s, / {args.jobs})"
    )
    print(f"speed-up        {t_naive / t_harness:8.1f} x  naive / harness   (target >= 5)")
    print(f"overhead        {t_harness / bound:8.2f} x  harness / bound  (target <= 1.3)")
    for consumer, mb in rss.items():
        print(f"peak RSS        {mb:8.0f} MB  worker child in {consumer} (target < 2048)")


if __name__ == "__main__":
    main()
