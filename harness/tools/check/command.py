"""Check your own export: load a user's exported model in every built runtime and report.

`python -m harness check PATH` takes a directory (or a path prefix) holding a program
(`.json` PIR or `.pdmodel` legacy) and its `.pdiparams`, stages a copy in
work/checks/<name>/ laid out like the harness's own exports, finds the input shapes
(`--input`, else the program itself completed by PaddleDetection's infer_cfg.yml), loads
it in every ready runtime with every loader of the matrix, picks a reference runtime and
judges every cell against it. The report is the usual one, with a single row.

Problems with what the user handed over (no model, two models, no params, shapes nobody
can tell) are CheckErrors with a remedy; a program Paddle cannot read is a failed cell
carrying Paddle's own error, because that is the answer the user came for.
"""
from __future__ import annotations

import argparse
import datetime
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness.config.matrix import Matrix, Runtime, parse_runtime_list, unknown_id_message
from harness.console import console
from harness.document.cell import Result
from harness.document.results import ExportEntry, ExportModeEntry, ResultsDocument
from harness.phases.context import RunContext
from harness.report import policy
from harness.report.collect import assemble, export_entry, runtime_entry
from harness.report.publish import publish
from harness.runtimes.backend import get_backend
from harness.store.files import digest
from harness.store.layout import Workspace
from harness.store.state import read_state
from harness.tools.check.cells import (
    choose_reference,
    judge_all,
    run_everywhere,
    runtime_line,
    save_npz,
    save_reference,
)
from harness.tools.check.inputs import InputSpec, make_inputs, parse_input_flags, read_infer_cfg, resolve_inputs
from harness.tools.check.model import NAME_RE, STAGED_PREFIX, CheckError, resolve_model, stage, write_export_record
from harness.tools.check.runtimes import (
    choose_backend,
    inspect_program,
    paddle_version_key,
    ready_runtimes,
    unused_line,
)


# ================================================================ the report
def document(
    ctx: RunContext, runtimes: Sequence[Runtime], judged: Sequence[Result], entry: ExportEntry, info: dict[str, Any]
) -> ResultsDocument:
    """The check's results document, made by the one constructor every report uses."""
    records = [runtime_entry(rt, read_state(ctx.ws, rt.id)) for rt in runtimes]
    fmt = info["program_format"]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    content = digest([r.to_json() for r in judged])[:8]
    return assemble(
        matrix=ctx.matrix,
        runtimes=records,
        cells=judged,
        exports=[entry],
        backend=ctx.backend.name,
        run_id=f"check-{info['name']}-{stamp}-{content}",
        check=info,
        models=[info["name"]],
        export_modes=[ExportModeEntry(fmt, fmt, full_graph=None, read_main_program=None)],
    )


def check_markdown(info: dict[str, Any], lines: list[str]) -> str:
    inputs = ", ".join(f"`{i['name']}` {i['shape']} {i['dtype']} ({i['source']})" for i in info["inputs"]) or "none"
    out = ["## Check", "", f"- model: `{info['path']}` ({info['program_format']} program)", f"- inputs: {inputs}"]
    out += [f"- reference: {info['reference_reason']}", ""]
    return "\n".join(out + [f"- {line}" for line in lines]) + "\n"


# ================================================================ the command
@dataclass(frozen=True)
class CheckOptions:
    path: str
    inputs: tuple[str, ...] = ()
    runtimes: str | None = None
    name: str = ""
    reference_runtime: str = ""
    backend: str = "auto"
    reports: str = ""
    jobs: int = 1
    # check answers one user's question: by default a failure in any runtime asked about is
    # exit 10 (policy.EXIT_INCOMPATIBLE); --fail-on never opts out.
    fail_on: str = "unexpected"
    fail_on_infra: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CheckOptions:
        return cls(
            path=args.path,
            inputs=tuple(args.input),
            runtimes=args.runtimes,
            name=args.name,
            reference_runtime=args.reference_runtime,
            backend=args.backend,
            reports="" if args.reports == "reports" else args.reports,  # the default means reports/check-<name>
            jobs=args.jobs,
            fail_on=args.fail_on or "unexpected",
            fail_on_infra=args.fail_on_infra,
        )


def main(matrix: Matrix, ws: Workspace, args: argparse.Namespace) -> int:
    return run(matrix, ws, CheckOptions.from_args(args))


def run(matrix: Matrix, ws: Workspace, opts: CheckOptions) -> int:
    started = time.monotonic()
    model = resolve_model(opts.path)  # fail on a broken path before anything starts
    name = _check_name(opts.name or model.name)
    flags = parse_input_flags(opts.inputs)
    image = read_infer_cfg(model.infer_cfg) if model.infer_cfg else None
    ids = parse_runtime_list(opts.runtimes)
    matrix = matrix.select(ids) if ids is not None else matrix
    if opts.reference_runtime and opts.reference_runtime not in matrix.runtime_ids:
        raise CheckError(unknown_id_message("runtime", opts.reference_runtime, matrix.runtime_ids))
    backend_name = choose_backend(opts.backend, matrix, ws)
    if opts.backend == "auto":
        console.say(f"backend auto: {backend_name} (the backend that built the ready runtimes; check never builds)")
    runtimes, not_used = ready_runtimes(matrix, ws, backend_name, explicit=ids is not None)
    ctx = RunContext(matrix, get_backend(backend_name, ws.root), ws)
    directory = ws.root / "checks" / name
    producer = f"check:{name}"
    used = ", ".join(r.id for r in runtimes)
    console.say(f"[check] {model.program} ({model.program_format}) as {producer}; runtimes: {used}")
    if not_used:
        console.say(f"[check] not used (not ready here, see results.json): {unused_line(not_used)}")
    stage(model, directory)
    newest_first = list(reversed(runtimes))
    program_file = STAGED_PREFIX + model.program.suffix
    t0 = time.monotonic()
    answer, reasons = inspect_program(matrix, ctx.backend, newest_first, directory, program_file)
    console.say(_inspect_message(answer, reasons, time.monotonic() - t0))
    specs = resolve_inputs(flags, answer["inputs"] if answer else None, image, str(model.program))
    save_npz(directory / "input.npz", make_inputs(specs))
    described = ", ".join(_describe(s) for s in specs) or "none (no runtime could read the program)"
    console.say(f"[check] inputs: {described}")
    written_by = answer.get("written_by") if answer else None
    record = write_export_record(directory, model, written_by)
    t0 = time.monotonic()
    ran = run_everywhere(ctx, runtimes, directory, producer, name, model.program_format, opts.jobs)
    console.say(f"[check] {len(ran)} cells in {time.monotonic() - t0:.1f} s")
    versions = {rt.id: ".".join(map(str, paddle_version_key(ws, rt))) for rt in runtimes}
    reference, why = choose_reference(ran, newest_first, versions, opts.reference_runtime, written_by)
    if reference is not None:
        save_reference(reference, directory / "reference.npz")
    results_path = directory / "results.jsonl"
    results_path.write_text("")
    judged = judge_all(matrix, ran, reference, directory / "reference.npz", results_path)
    lines = [runtime_line(rt.id, [r for r in judged if r.consumer == rt.id]) for rt in runtimes]
    info = {
        "path": str(opts.path),
        "name": name,
        "program_format": model.program_format,
        "inputs": [{"name": s.name, "shape": list(s.shape), "dtype": s.dtype, "source": s.source} for s in specs],
        "inspected_by": answer["runtime"] if answer else None,
        "inspect_errors": reasons,
        "written_by": written_by,
        "reference": reference.key.consumer if reference else None,
        "reference_reason": why,
        "not_used": not_used,
    }
    entry = export_entry(producer, name, model.program_format, record, directory)
    out = Path(opts.reports) if opts.reports else Path("reports") / f"check-{name}"
    doc = publish(document(ctx, runtimes, judged, entry, info), out, None, check_markdown(info, lines))
    return _finish(doc, out, lines, why, opts, time.monotonic() - started)


def _check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise CheckError(f"--name {name!r} is not a usable name", "use letters, digits, '.', '_' and '-'")
    return name


def _inspect_message(answer: dict[str, Any] | None, reasons: list[str], seconds: float) -> str:
    if answer:
        return f"[check] program read by {answer['runtime']} in {seconds:.1f} s" + (
            f" (written by Paddle {answer['written_by']})" if answer.get("written_by") else ""
        )
    return (
        "[check] no runtime could read the program; its loaders run anyway so each runtime's own error is recorded:\n"
        + "\n".join(f"  {r}" for r in reasons)
    )


def _describe(spec: InputSpec) -> str:
    return f"{spec.name} {list(spec.shape)} {spec.dtype} (from {spec.source})"


def _finish(doc: ResultsDocument, out: Path, lines: list[str], why: str, opts: CheckOptions, seconds: float) -> int:
    console.say(f"reference: {why}")
    for line in lines:
        console.say(line)
    summary = ", ".join(f"{k}={v}" for k, v in doc.summary.items())
    console.say(f"report: {out / 'index.html'}, results.json, junit.xml, summary.md ({summary}) in {seconds:.1f} s")
    verdict = policy.decide(doc, opts.fail_on, opts.fail_on_infra)
    if verdict.exit_code:
        console.error(f"{verdict.message} (--fail-on never exits 0 whatever the verdicts)")
    return verdict.exit_code
