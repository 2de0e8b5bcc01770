"""python -m harness {matrix, build, export, load, report, runtimes}.

Nox sessions are thin wrappers over these; CI jobs and people debugging call them directly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from harness import diagnose, policy
from harness.backends import Backend, get_backend
from harness.config import Matrix, load_matrix
from harness.errors import HarnessError
from harness.plan import Workspace
from harness.status import CellKey


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--matrix", default="matrix.yaml", help="matrix file (default: %(default)s)")
    common.add_argument(
        "--work", default="work", help="work directory: runtimes, exports, results (default: %(default)s)"
    )
    common.add_argument("--reports", default="reports", help="where reports are written (default: %(default)s)")
    common.add_argument("--backend", default="auto", choices=["auto", "venv", "docker"], help="how runtimes are built")
    common.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    common.add_argument(
        "--history", default="", help="SQLite history of runs (default: <reports>/history.sqlite); 'none' to skip"
    )
    common.add_argument(
        "--fail-on",
        default="never",
        choices=list(policy.FAIL_ON),
        help="exit non-zero on: unexpected failures, failures new since the previous run, or never (default)",
    )
    common.add_argument(
        "--fail-on-infra", action="store_true", help="also exit non-zero when runtimes could not be built"
    )
    top = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    matrix = sub.add_parser("matrix", parents=[common], help="build, export, load, judge and report everything")
    matrix.add_argument("--runtimes", default="", help="comma-separated runtime ids (default: all in the matrix)")
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
    report = sub.add_parser(
        "report", parents=[common], help="write results.json and index.html from the work directory"
    )
    report.add_argument("--runtimes", default="", help="restrict the report to these runtime ids")
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
    check.add_argument("--runtimes", default="", help="comma-separated runtime ids (default: every ready runtime)")
    check.add_argument("--name", default="", help="name of the check (default: the model's directory name)")
    check.add_argument(
        "--reference-runtime", default="", help="runtime whose outputs the others are compared with (default: chosen)"
    )
    check.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runtimes run at once")
    listing = sub.add_parser("runtimes", parents=[common], help="list the runtime ids of the matrix")
    listing.add_argument("--json", action="store_true")
    return top


def selected(matrix: Matrix, runtimes: str) -> Matrix:
    ids = [r.strip() for r in runtimes.split(",") if r.strip()]
    return matrix.select(ids) if ids else matrix


def dispatch(args: argparse.Namespace) -> int:
    from harness import runner

    matrix = load_matrix(args.matrix)
    ws = Workspace(Path(args.work).resolve())
    if args.command == "runtimes":
        ids = matrix.runtime_ids
        print(json.dumps(ids) if args.json else "\n".join(ids))
        return 0
    if args.command == "report":
        return _report(selected(matrix, args.runtimes), ws, args)
    if args.command == "merge":
        return _merge(matrix, ws, args)
    if args.command == "repro":
        from harness import repro

        work = Path(args.work).resolve() if args.work != "work" else None
        pair = {"producer": args.producer, "consumer": args.consumer}
        return repro.run(
            matrix, args.backend, work, args.keep, **pair, model=args.model, export=args.export, loader=args.loader
        )
    if args.command == "check":
        from harness import check

        return check.main(matrix, ws, args)
    backend = get_backend(args.backend, ws.root)
    if args.command == "matrix":
        matrix = selected(matrix, args.runtimes)
        print(f"backend: {backend.name}; runtimes: {', '.join(matrix.runtime_ids)}", flush=True)
        runner.run_all(matrix, backend, ws, args.jobs, args.build_gpu, reuse=not args.fresh)
        if args.diagnose:
            _diagnose(matrix, backend, ws, diagnose.red_cells(ws))
        return _report(matrix, ws, args)
    if args.command == "diagnose":
        keys = diagnose.red_cells(ws) if args.all_failing else [diagnose.parse_cell(c, matrix) for c in args.cells]
        _diagnose(matrix, backend, ws, keys)
        return _report(matrix, ws, args)
    rt = matrix.runtime(args.runtime)
    if args.command == "build":
        runner.build(matrix, backend, ws, rt, args.build_gpu)
    elif args.command == "export":
        runner.export_runtime(matrix, backend, ws, rt)
    else:
        runner.load_runtime(matrix, backend, ws, rt)
    return 0


def _merge(matrix: Matrix, ws: Workspace, args: argparse.Namespace) -> int:
    from harness.merge import merge, missing

    for warning in merge([Path(s) for s in args.sources], ws.root):
        print(f"warning: {warning}", file=sys.stderr)
    gaps = missing(matrix, ws)
    print("merged; missing: " + ("; ".join(gaps) if gaps else "nothing"))
    return _report(matrix, ws, args)


def _diagnose(matrix: Matrix, backend: Backend, ws: Workspace, keys: list[CellKey]) -> None:
    for key in keys:
        record = diagnose.diagnose(matrix, backend, ws, key)
        fixes = "; ".join(record["fixes"]) or "none of the known workarounds"
        print(f"{key.slug}: fixed by {fixes}")


def _report(matrix: Matrix, ws: Workspace, args: argparse.Namespace) -> int:
    from harness.report import write_reports

    out = Path(args.reports)
    history = None if args.history == "none" else Path(args.history or out / "history.sqlite")
    results = write_reports(matrix, ws, out, history)
    summary = ", ".join(f"{k}={v}" for k, v in results["summary"].items())
    print(f"report: {out / 'index.html'}, results.json, junit.xml, summary.md ({summary})")
    verdict = policy.decide(results, args.fail_on, args.fail_on_infra)
    print(verdict.message, file=sys.stderr if verdict.exit_code else sys.stdout)
    return verdict.exit_code


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return dispatch(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: results written so far are kept in the work directory", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001  the one place that turns a bug into a message
        if args.debug:
            raise
        print(
            f"internal error:\n{traceback.format_exc(limit=-3)}\nrerun with --debug for the full traceback",
            file=sys.stderr,
        )
        return 1
