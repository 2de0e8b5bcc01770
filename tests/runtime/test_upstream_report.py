"""Runtime tier: the upstream report's script, run as a Paddle maintainer would run it.

For cells of the session's real run (tests/data/matrix-small.yaml on the venv backend), the
script of harness.report.upstream is written into a clean directory with only the export's
files beside it (no work/ path, no harness on the path) and run with the consumer runtime's
own Python. It must fail where the cell failed, at the same stage and with the same error
(a crash dies by the same signal), and for a cell that ran, print the difference from the
producer's reference.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.document.cell import Stage, Status
from harness.document.results import Cell, ResultsDocument, read_document
from harness.report.upstream import upstream_report

pytestmark = pytest.mark.runtime
LOAD_LINES = ("jit.load(", "create_predictor(", "inference.Config(")


@pytest.fixture(scope="module")
def doc(run: dict[str, Any]) -> ResultsDocument:
    return read_document(run["reports"] / "results.json")


def report(doc: ResultsDocument, cell: Cell) -> str:
    runtimes = {r.id: r for r in doc.runtimes}
    export = next(
        (e for e in doc.exports if (e.producer, e.model, e.export) == (cell.producer, cell.model, cell.export)), None
    )
    return upstream_report(
        cell,
        consumer=runtimes[cell.consumer],
        producer=runtimes[cell.producer],
        loader=next(ld for ld in doc.loaders if ld.id == cell.loader),
        export=export,
    )


def script_of(markdown: str) -> str:
    found = re.search(r"^(`{3,})python\n(.*?)\n\1$", markdown, re.S | re.M)
    assert found, markdown
    return found.group(2)


def run_alone(
    run: dict[str, Any], doc: ResultsDocument, cell: Cell, where: Path
) -> tuple[subprocess.CompletedProcess[str], str]:
    """The script in a directory of its own with the export's files, in the consumer's venv."""
    work: Path = run["work"]
    script = script_of(report(doc, cell))
    assert str(work) not in script and "harness" not in script
    exported = work / "exports" / cell.producer / cell.model / cell.export
    where.mkdir()
    files = ("model.json", "model.pdmodel", "model.pdiparams", "input.npz", "reference.npz")
    for name in files + (("eval.npz", "reference_eval.npz") if "accuracy" in cell.details else ()):
        if (exported / name).exists():
            shutil.copy2(exported / name, where / name)
    (where / "repro.py").write_text(script)
    python = work / "runtimes" / cell.consumer / "venv" / "bin" / "python"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(where), "LANG": "C.UTF-8"}
    # The session's runtimes are shared with other tests: writing bytecode into the venv would
    # change it (its identity is a manifest of its files), and every cached verdict with it.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run([str(python), "repro.py"], cwd=where, env=env, capture_output=True, text=True, timeout=600)
    return proc, script


def failing_stage(proc: subprocess.CompletedProcess[str], script: str) -> Stage:
    """Where the script stopped: the last line of repro.py in the traceback loads, or runs."""
    lines = re.findall(r'File "[^"]*repro\.py", line (\d+)', proc.stderr)
    assert lines, proc.stderr
    failed_at = script.splitlines()[int(lines[-1]) - 1]
    return Stage.LOAD if any(call in failed_at for call in LOAD_LINES) else Stage.RUN


def pick(doc: ResultsDocument, *statuses: Status, **key: str) -> Cell:
    found = [c for c in doc.cells if c.status in statuses and all(getattr(c, k) == v for k, v in key.items())]
    assert found, f"no {statuses} cell with {key} in this run"
    return found[0]


def test_a_pir_export_that_2_6_jit_load_cannot_load_fails_the_same_way(
    run: dict[str, Any], doc: ResultsDocument, tmp_path: Path
) -> None:
    cell = pick(
        doc, Status.LOAD_FAILED, Status.RUN_FAILED, producer="cpu-3.3.1", consumer="cpu-2.6.2", loader="jit_load"
    )
    assert cell.export.endswith("pir")
    proc, script = run_alone(run, doc, cell, tmp_path / "issue")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failing_stage(proc, script) is cell.stage
    exported = run["work"] / "exports" / cell.producer / cell.model / cell.export
    error = cell.error.replace(str(exported), str(tmp_path / "issue"))  # the same error, about the copied files
    assert error in proc.stderr, proc.stderr[-3000:]


def test_a_crash_dies_by_the_same_signal(run: dict[str, Any], doc: ResultsDocument, tmp_path: Path) -> None:
    cell = pick(doc, Status.CRASH, consumer="cpu-2.6.2", loader="predictor")
    assert cell.stage is Stage.LOAD and cell.details.get("signal")
    proc, _ = run_alone(run, doc, cell, tmp_path / "issue")
    assert proc.returncode == -signal.Signals[str(cell.details["signal"])].value, proc.stdout + proc.stderr[-3000:]
    assert "paddle 2.6.2" in proc.stdout  # it got as far as paddle, then died where the cell did
    banner = cell.error.split(": ", 1)[1]  # "the loading process died by SIGSEGV: <Paddle's banner>"
    assert banner in proc.stdout + proc.stderr


def test_a_cell_that_ran_prints_its_difference_from_the_reference(
    run: dict[str, Any], doc: ResultsDocument, tmp_path: Path
) -> None:
    cell = next((c for c in doc.cells if c.status is Status.MISMATCH), None) or pick(
        doc, Status.PASS, producer="cpu-2.6.2", consumer="cpu-3.3.1", loader="predictor"
    )
    proc, _ = run_alone(run, doc, cell, tmp_path / "issue")
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = re.search(r"max abs diff from reference\.npz over all outputs: (\S+)", proc.stdout)
    assert found, proc.stdout
    print(f"{cell.slug} ({cell.status.value}, max_abs_diff {cell.max_abs_diff}): the script prints {found.group(1)}")
    if cell.status is Status.PASS:
        assert float(found.group(1)) <= 0.05
    # A detector's cell carries its evaluation images: the script counts its confident detections.
    counted = re.search(r"evaluation images: (\d+) detections with score >= 0.3 here, (\d+) in the FP32 reference", proc.stdout)
    assert counted and int(counted.group(2)) > 0, proc.stdout[-2000:]
    if cell.status is Status.PASS:  # scores within score_atol: only one right at 0.3 could flip
        assert abs(int(counted.group(1)) - int(counted.group(2))) <= 2, counted.group(0)
