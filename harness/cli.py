"""python -m harness {matrix, build, export, load, report, runtimes}.

Nox sessions are thin wrappers over these; CI jobs and people debugging call them directly.
"""

from __future__ import annotations

import argparse
import json
import os
import traceback
from pathlib import Path

from harness.config.matrix import Matrix, load_matrix, parse_runtime_list
from harness.console import console
from harness.document.cell import CellKey
from harness.errors import HarnessError
from harness.phases.context import RunContext
from harness.report import policy
from harness.runtimes import seam
from harness.runtimes.backend import backend_for_run, get_backend
from harness.store.layout import Workspace
from harness.tools import diagnose


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--matrix", default="matrix.yaml", help="matrix file (default: %(default)s)")
    common.add_argument(
        "--work", default="work", help="work directory: runtimes, exports, results (default: %(default)s)"
    )
    common.add_argument("--reports", default="reports", help="where reports are written (default: %(default)s)")
    common.add_argument("--backend", default="auto", choices=["auto", "venv", "docker"], help="how runtimes are built")
    common.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    common.add_argument("--quiet", action="store_true", help="print only warnings, errors and the answer itself")
    common.add_argument(
        "--history", default="", help="SQLite history of runs (default: <reports>/history.sqlite); 'none' to skip"
    )
    common.add_argument(
        "--fail-on",
        default=None,
        choices=list(policy.FAIL_ON),
        help="exit 10 on: unexpected failures, failures new since the previous run, or never "
        "(default: never; for check: unexpected, a failure in any runtime asked about)",
    )
    common.add_argument(
        "--fail-on-infra", action="store_true", help="also exit non-zero when runtimes could not be built"
    )
    top = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    matrix = sub.add_parser("matrix", parents=[common], help="build, export, load, judge and report everything")
    matrix.add_argument("--runtimes", default=None, help="comma-separated runtime ids (default: all in the matrix)")
    matrix.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runtimes handled at once")
    matrix.add_argument("--build-gpu", action="store_true", help="build GPU runtimes even without a GPU")
    matrix.add_argument("--diagnose", action="store_true", help="then try the known workarounds on every failing cell")
    matrix.add_argument("--fresh", action="store_true", help="recompute every verdict instead of reusing cached ones")
    repro = sub.add_parser("repro", parents=[common], help="reproduce one producer/consumer pair and print everything")
    repro.add_argument("producer", help="runtime id that exports")
    repro.add_argument("consumer", help="runtime id that loads")
    repro.add_argument("--model", default="", help="only this model")
    repro.add_argument("--export", default="", help="only this export mode")
    repro.add_argument("--loader", default="", help="only this loader")
    repro.add_argument("--keep", action="store_true", help="keep the venvs/containers and exports, and say where")
    repro.add_argument("--report-md", action="store_true", help="print each failing cell's report for a Paddle issue")
    diag = sub.add_parser("diagnose", parents=[common], help="try the known workarounds on failing cells")
    diag.add_argument("cells", nargs="*", help="cell ids producer__model__export__consumer__loader (results.json)")
    diag.add_argument("--all-failing", action="store_true", help="every failing cell recorded in the work directory")
    for name, text in (
        ("build", "build one runtime"),
        ("export", "train and export in one runtime"),
        ("load", "load every export in one runtime and judge it"),
    ):
        phase = sub.add_parser(name, parents=[common], help=text)
        phase.add_argument("runtime", help="runtime id from the matrix")
        if name == "build":
            phase.add_argument("--build-gpu", action="store_true", help="build a GPU runtime even without a GPU")
        if name == "load":
            phase.add_argument("--fresh", action="store_true", help="recompute every verdict, reuse none")
    report = sub.add_parser(
        "report", parents=[common], help="write results.json and index.html from the work directory"
    )
    report.add_argument("--runtimes", default=None, help="restrict the report to these runtime ids")
    merging = sub.add_parser("merge", parents=[common], help="merge partial work directories into --work, then report")
    merging.add_argument("sources", nargs="+", help="work directories (CI artifacts) to merge")
    check = sub.add_parser(
        "check",
        parents=[common],
        help="load your own exported model in every built runtime and report per runtime",
        description="Load an exported model in every ready runtime with every loader and compare the outputs; "
        "the report goes to reports/check-<name>/ unless --reports is given.",
    )
    check.add_argument("path", help="directory holding model.json|.pdmodel + .pdiparams (+ infer_cfg.yml), or a prefix")
    check.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME:SHAPE:DTYPE",
        help="an input's shape, e.g. image:1,3,640,640:float32 (repeat per input; default: from the program)",
    )
    check.add_argument("--runtimes", default=None, help="comma-separated runtime ids (default: every ready runtime)")
    check.add_argument("--name", default="", help="name of the check (default: the model's directory name)")
    check.add_argument(
        "--reference-runtime", default="", help="runtime whose outputs the others are compared with (default: chosen)"
    )
    check.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runtimes run at once")
    listing = sub.add_parser("runtimes", parents=[common], help="list the runtime ids of the matrix")
    listing.add_argument("--json", action="store_true")
    return top


def selected(matrix: Matrix, runtimes: str | None) -> Matrix:
    ids = parse_runtime_list(runtimes)
    return matrix.select(ids) if ids is not None else matrix


def dispatch(args: argparse.Namespace) -> int:
    matrix = load_matrix(args.matrix)
    ws = Workspace(Path(args.work).resolve())
    if args.command == "runtimes":
        ids = matrix.consumer_ids  # deployment consumers too: they are built and load like runtimes
        console.data(json.dumps(ids) if args.json else "\n".join(ids))
        return 0
    if args.command == "report":
        return _report(selected(matrix, args.runtimes), ws, args)
    if args.command == "merge":
        return _merge(matrix, ws, args)
    if args.command == "repro":
        from harness.tools import repro

        work = Path(args.work).resolve() if args.work != "work" else None
        pair = {"producer": args.producer, "consumer": args.consumer, "model": args.model, "export": args.export}
        return repro.run(matrix, args.backend, work, args.keep, args.report_md, **pair, loader=args.loader)
    if args.command == "check":
        from harness.tools.check import command as check

        return check.main(matrix, ws, args)
    if args.command == "diagnose":
        keys = diagnose.red_cells(ws) if args.all_failing else [diagnose.parse_cell(c, matrix) for c in args.cells]
        keys = diagnose.failing_only(ws, keys)
        _diagnose(RunContext(matrix, get_backend(args.backend, ws.root), ws), keys)
        return _report(matrix, ws, args)
    if args.command == "matrix":
        return _matrix(selected(matrix, args.runtimes), ws, args)
    return _phase(RunContext(matrix, get_backend(args.backend, ws.root), ws), args)


def _matrix(matrix: Matrix, ws: Workspace, args: argparse.Namespace) -> int:
    """Every phase, then the report. On Docker the missing base images are got first (or the
    run moves to venv, saying why); a run in which no runtime could be built exits 12."""
    from harness.phases.run import nothing_built, run_all

    backend = backend_for_run(args.backend, ws.root, matrix.runtimes, args.build_gpu, matrix.deployments)
    ctx = RunContext(matrix, backend, ws)
    deployed = f"; deployment consumers: {', '.join(d.id for d in matrix.deployments)}" if matrix.deployments else ""
    console.say(f"backend: {ctx.backend.name}; runtimes: {', '.join(matrix.runtime_ids)}{deployed}")
    run_all(ctx, args.jobs, args.build_gpu, reuse=not args.fresh)
    if args.diagnose:
        _diagnose(ctx, diagnose.red_cells(ws))
    code = _report(matrix, ws, args)
    unbuilt = nothing_built(ctx)
    if unbuilt:
        lines = "\n".join(f"  - {line}" for line in unbuilt)
        console.error(f"error: no runtime could be built here, so the report holds no verdict:\n{lines}")
        return policy.EXIT_NOTHING_BUILT
    return code


def _phase(ctx: RunContext, args: argparse.Namespace) -> int:
    from harness.phases.build import build
    from harness.phases.export import export_runtime
    from harness.phases.load import load_runtime

    rt = ctx.matrix.consumer(args.runtime)  # a Paddle runtime or a deployment consumer
    if args.command == "build":
        build(ctx, rt, args.build_gpu)
    elif args.command == "export" and ctx.matrix.deployment(rt.id) is not None:
        console.say(f"[export {rt.id}] nothing to export: {rt.id} is a deployment consumer (it converts and loads)")
    elif args.command == "export":
        export_runtime(ctx, ctx.matrix.runtime(rt.id))
    else:
        load_runtime(ctx, rt, reuse=not args.fresh)
    return 0


def _merge(matrix: Matrix, ws: Workspace, args: argparse.Namespace) -> int:
    from harness.tools.merge import merge, missing

    for warning in merge([Path(s) for s in args.sources], ws.root):
        console.warn(warning)
    gaps = missing(matrix, ws)
    console.say("merged; missing: " + ("; ".join(gaps) if gaps else "nothing"))
    return _report(matrix, ws, args)


def _diagnose(ctx: RunContext, keys: list[CellKey]) -> None:
    for key in keys:
        record = diagnose.diagnose(ctx, key)
        fixes = "; ".join(record["fixes"]) or "none of the known workarounds"
        console.data(f"{key.slug}: fixed by {fixes}")


def _report(matrix: Matrix, ws: Workspace, args: argparse.Namespace) -> int:
    from harness.report.publish import write_reports

    out = Path(args.reports)
    history = None if args.history == "none" else Path(args.history or out / "history.sqlite")
    results = write_reports(matrix, ws, out, history)
    summary = ", ".join(f"{k}={v}" for k, v in results.summary.items())
    console.say(f"report: {out / 'index.html'}, results.json, junit.xml, summary.md ({summary})")
    verdict = policy.decide(results, args.fail_on or "never", args.fail_on_infra)
    (console.error if verdict.exit_code else console.say)(verdict.message)
    return verdict.exit_code


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console.quiet = args.quiet
    try:
        return dispatch(args)
    except diagnose.NothingToDiagnose as exc:
        console.data(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        seam.interrupt()
        console.error("interrupted: running processes stopped; finished cells are kept in the work directory")
        return 130
    except HarnessError as exc:
        if seam.interrupted():
            console.error("interrupted: running processes stopped; finished cells are kept in the work directory")
            return 130
        console.error(f"error: {exc}")
        return exc.exit_code
    except Exception:  # noqa: BLE001  the one place that turns a bug into a message
        if args.debug:
            raise
        console.error(f"internal error:\n{traceback.format_exc(limit=-3)}\nrerun with --debug for the full traceback")
        return 1
