"""Runtime tier fixtures: one real single-machine run of tests/data/matrix-small.yaml per
session (the venv backend, real Paddle), shared by the tests that read its verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
MATRIX = ROOT / "tests" / "data" / "matrix-small.yaml"


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
