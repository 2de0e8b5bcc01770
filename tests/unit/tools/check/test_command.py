"""check, the command: options from the command line, one clear message for a bad path,
and the report with a single row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness import cli
from harness.config.matrix import load_matrix
from harness.document.cell import CellKey, Result, Status
from harness.document.results import ExportEntry
from harness.phases.context import RunContext
from harness.report import policy
from harness.report.publish import publish
from harness.store.layout import Workspace
from harness.tools.check import command as check
from tests.unit.fakes import FakeBackend
from tests.unit.tools.check.helpers import SMALL, state


def result(consumer: str, loader: str, status: Status, error: str = "", **details: Any) -> Result:
    key = CellKey("check:m", "m", "legacy", consumer, loader)
    return Result.for_cell(
        key, status, error=error, max_abs_diff=0.0 if status is Status.PASS else None, details=details
    )


def test_the_check_report_is_the_one_document_with_one_row(tmp_path: Path) -> None:
    matrix, ws = load_matrix(SMALL), Workspace(tmp_path / "work")
    state(ws, "cpu-2.6.2", "ready", version="2.6.2")
    state(ws, "cpu-3.3.1", "ready", version="3.3.1")
    runtimes = [matrix.runtime("cpu-2.6.2"), matrix.runtime("cpu-3.3.1")]
    cells = [
        result(rt.id, ld.id, Status.PASS if rt.id == "cpu-3.3.1" else Status.LOAD_FAILED, reference_runtime="cpu-3.3.1")
        for rt in runtimes
        for ld in matrix.loaders
    ]
    export = ExportEntry.from_json(
        {"producer": "check:m", "model": "m", "export": "legacy", "status": "ok", "program_format": "legacy"}, "test"
    )
    info = {"path": "/x", "name": "m", "program_format": "legacy", "inputs": [], "reference_reason": "cpu-3.3.1: newest"}
    ctx = RunContext(matrix, FakeBackend(Path("unused")), ws)  # type: ignore[arg-type]
    doc = check.document(ctx, runtimes, cells, export, info)
    assert doc.models == ["m"] and [e.id for e in doc.export_modes] == ["legacy"]
    assert [r.id for r in doc.runtimes] == ["cpu-2.6.2", "cpu-3.3.1"]
    assert doc.compat_ranges[0].loads_in == ["cpu-3.3.1"]
    assert {(c.producer, c.model, c.export) for c in doc.cells} == {("check:m", "m", "legacy")}
    out = tmp_path / "reports"
    publish(doc, out, None, check.check_markdown(info, ["cpu-3.3.1: loads and runs (predictor pass)"]))
    written = json.loads((out / "results.json").read_text())
    assert written["check"]["name"] == "m" and set(written) >= {"cells", "runtimes", "compat_ranges", "summary"}
    assert "check:m" in (out / "index.html").read_text()
    assert 'tests="6"' in (out / "junit.xml").read_text()
    assert "- cpu-3.3.1: loads and runs (predictor pass)" in (out / "summary.md").read_text()
    # A failure in any runtime asked about is check's non-zero answer, unless told otherwise.
    assert policy.decide(doc, "unexpected", False).exit_code == policy.EXIT_INCOMPATIBLE
    assert policy.decide(doc, "never", False).exit_code == 0


# ---------------------------------------------------------------- the command line
def test_the_check_command_parses_repeated_inputs() -> None:
    args = cli.parser().parse_args(
        ["check", "out/m", "--input", "image:1,3,64,64:float32", "--input", "im_shape:1,2", "--runtimes", "a,b"]
    )
    opts = check.CheckOptions.from_args(args)
    assert (opts.path, opts.inputs, opts.runtimes, opts.reports) == (
        "out/m",
        ("image:1,3,64,64:float32", "im_shape:1,2"),
        "a,b",
        "",
    )


def test_a_directory_with_no_model_is_one_message_and_a_non_zero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code = cli.main(["check", str(empty), "--matrix", str(SMALL), "--work", str(tmp_path / "w"), "--backend", "venv"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: no exported model in {empty}") and "Traceback" not in err
