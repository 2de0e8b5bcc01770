"""Runtime tier fixtures: one real single-machine run of tests/data/matrix-small.yaml per
session (the venv backend, real Paddle), shared by the tests that read its verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
MATRIX = ROOT / "tests" / "data" / "matrix-small.yaml"
RAN = ("pass", "flaky", "mismatch", "accuracy_drop")  # the statuses of cells that ran to a verdict


def harness(*args: str, work: Path, reports: Path, matrix: Path = MATRIX) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable,
        "-m",
        "harness",
        *args,
        # This tier is the venv backend's; `auto` would pick Docker wherever an engine runs.
        "--backend",
        "venv",
        "--matrix",
        str(matrix),
        "--work",
        str(work),
        "--reports",
        str(reports),
    ]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=3000)


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # HARNESS_TEST_WORK lets a developer keep built venvs between test runs.
    work = Path(os.environ.get("HARNESS_TEST_WORK") or tmp_path_factory.mktemp("work"))
    reports = tmp_path_factory.mktemp("reports")
    proc = harness("matrix", "--jobs", "2", work=work, reports=reports)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((reports / "results.json").read_text())
    return {"results": results, "reports": reports, "work": work, "stdout": proc.stdout}


def run_matrix(tmp_path_factory: pytest.TempPathFactory, matrix: Path, label: str) -> dict[str, Any]:
    """`python -m harness matrix` on one of the tier's own matrices, as a user runs it; its
    results document, work and reports directories. HARNESS_TEST_WORK lets a developer keep
    built venvs (and installed requires) between runs."""
    work = Path(os.environ.get("HARNESS_TEST_WORK") or tmp_path_factory.mktemp("work"))
    reports = tmp_path_factory.mktemp("reports")
    started = time.monotonic()
    proc = harness("matrix", "--jobs", "2", work=work, reports=reports, matrix=matrix)
    print(f"\n[{label}] matrix: {time.monotonic() - started:.0f} s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"results": json.loads((reports / "results.json").read_text()), "work": work, "reports": reports}


def cells_of(run: dict[str, Any], **match: str) -> list[dict[str, Any]]:
    """The cells of a run's results whose keys have these values."""
    return [c for c in run["results"]["cells"] if all(c[k] == v for k, v in match.items())]
